import { Flags } from '@oclif/core'
import { userInfo } from 'node:os'
import { ProxyClient } from '../client/proxy-client.ts'
import { BaseCommand } from '../cli/base-command.ts'
import { resolveProxy, trustCa } from '../cli/connection.ts'
import { readPassword } from '../cli/prompt.ts'
import { openSettings } from '../cli/settings.ts'

export default class Login extends BaseCommand {
  static override summary = 'Log in to a proxy (the first login of a new user name registers it)'
  static override examples = [
    '<%= config.bin %> login --proxy https://127.0.0.1:5000 --user alice',
    '<%= config.bin %> login --proxy https://proxy.example:5000 --ca-fingerprint 3A:7F:…',
    'DFS_PASSWORD=secret <%= config.bin %> login --user alice',
  ]

  static override flags = {
    proxy: Flags.string({ description: 'proxy URL (default: $DFS_PROXY, then the saved login)' }),
    user: Flags.string({
      description: 'user name (default: $DFS_USER, then the saved user, then your login name)',
    }),
    data: Flags.string({ description: 'local data root, to find the cluster CA' }),
    'ca-fingerprint': Flags.string({
      description: "the cluster CA's SHA-256 fingerprint, to trust it without asking (as openssl prints it)",
    }),
  }

  async run(): Promise<{ user: string; proxy: string; expires: string }> {
    const { flags } = await this.parse(Login)
    const url = await resolveProxy(flags.proxy)
    const ca = await trustCa(url, { data: flags.data, fingerprint: flags['ca-fingerprint'] })
    const user = flags.user ?? process.env.DFS_USER ?? openSettings().get('user') ?? userInfo().username
    const password = process.env.DFS_PASSWORD ?? (await readPassword(`password for ${user}: `))
    const client = new ProxyClient(url, ca)
    try {
      const session = await client.login(user, password)
      openSettings().set({ proxy: url, user, token: session.token, ca })
      if (!this.jsonEnabled()) this.log(`logged in to ${url} as ${user}`)
      return { user, proxy: url, expires: new Date(session.expires).toISOString() }
    } finally {
      await client.close()
    }
  }
}
