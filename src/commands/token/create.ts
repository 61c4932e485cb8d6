import { Flags } from '@oclif/core'
import { duration } from '../../cli/duration.ts'
import { tokenAdmin } from '../../cli/token-admin.ts'
import { UserCommand } from '../../cli/user-command.ts'
import type { CreatedToken } from '../../protocol/types.ts'

export default class TokenCreate extends UserCommand {
  static override summary = 'Make a join token for a file server or proxy on another host'
  static override description =
    "Prints the token alone on stdout. With --data pointing at the directory's data root (on its host) no login is needed; otherwise it goes through the proxy, as the cluster's admin (the first user registered)."
  static override examples = [
    '<%= config.bin %> token create --role fileserver --data /srv/dfs',
    '<%= config.bin %> token create --role proxy --ttl 1h --uses 1',
  ]

  static override flags = {
    role: Flags.string({
      description: 'the role it lets in',
      options: ['fileserver', 'proxy', 'any'],
      required: true,
    }),
    ttl: duration({ description: 'how long it is good for (0: until revoked)', default: 24 * 3_600_000 }),
    uses: Flags.integer({ description: 'joins it allows (default: unlimited)', min: 1 }),
  }

  async run(): Promise<CreatedToken> {
    const { flags } = await this.parse(TokenCreate)
    const admin = await tokenAdmin(flags)
    try {
      const created = await admin.create({
        role: flags.role as CreatedToken['view']['role'],
        ttlMs: flags.ttl,
        ...(flags.uses === undefined ? {} : { uses: flags.uses }),
      })
      this.say(created.token)
      return created
    } finally {
      await admin.close()
    }
  }
}
