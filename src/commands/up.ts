import { Flags } from '@oclif/core'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { BaseCommand } from '../cli/base-command.ts'
import { startChild, stopChild, type Child } from '../cli/children.ts'
import { openSettings } from '../cli/settings.ts'
import { ProxyClient } from '../client/proxy-client.ts'
import { DfsError } from '../protocol/errors.ts'
import { USER_NAME } from '../roles/directory/accounts.ts'
import { dataRoot, privateDataRoot } from '../server/data-root.ts'
import { caCertPath, readCaCert } from '../tls/ca-files.ts'

export default class Up extends BaseCommand {
  static override summary = 'Start a whole local cluster (directory, file servers, a proxy) and log in'
  static override enableJsonFlag = false
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up --fileservers 4 --data /tmp/dfs-try',
  ]

  static override flags = {
    fileservers: Flags.integer({ description: 'number of file servers', default: 3, min: 1, max: 32 }),
    data: Flags.string({ description: 'data root (default: $DFS_DATA, or ~/.local/share/dfs)' }),
    replicas: Flags.integer({
      description: 'copies of every file (default: 2, or 1 with one file server)',
      min: 1,
      max: 8,
    }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(Up)
    const replicas = flags.replicas ?? Math.min(2, flags.fileservers)
    // Every write needs R copies: a cluster of fewer servers could take none.
    if (replicas > flags.fileservers)
      throw new DfsError('DFS_USAGE', `--replicas ${replicas} needs at least ${replicas} file servers`)
    const root = privateDataRoot(dataRoot(flags.data))
    const logs = join(root, 'logs')
    await mkdir(logs, { recursive: true })
    const children: Child[] = []
    let stopping = false
    const stopAll = async () => {
      stopping = true
      await Promise.all(children.map((c) => stopChild(c)))
    }
    const onSignal = () => void stopAll().then(() => this.log('dfs up: stopped'))
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)

    try {
      const start = async (name: string, args: string[]) => {
        const child = await startChild({
          name,
          args: [...args, '--data', root],
          log: join(logs, `${name.replace(' ', '-')}.log`),
        })
        children.push(child)
        return child
      }
      const directory = await start('directory', ['directory', '--port', '0', '--replicas', String(replicas)])
      for (let id = 1; id <= flags.fileservers; id++) {
        await start(`fileserver ${id}`, [
          'fileserver',
          '--id',
          String(id),
          '--port',
          '0',
          '--directory',
          directory.url,
        ])
      }
      const proxy = await start('proxy 1', [
        'proxy',
        '--id',
        '1',
        '--port',
        '0',
        '--directory',
        directory.url,
        '--webdav',
      ])
      const user = await this.loginLocalUser(root, proxy.url, flags.fileservers)

      this.log(`dfs is up: directory ${directory.url}, ${flags.fileservers} file servers, proxy ${proxy.url}`)
      this.log(`data in ${root}, logs in ${logs}; logged in as ${user}`)
      this.log(
        `WebDAV (rclone, davfs2, file managers): ${proxy.url}/dav/ as ${user}, password in ${join(root, 'up-password')}, CA ${caCertPath(root)}`,
      )
      this.log(
        `Web dashboard: ${proxy.url}/ui/ as ${user}, the same password (the browser must trust that CA)`,
      )
      this.log('')
      this.log('In another terminal, try:')
      this.log('  echo hello | dfs put - hello.txt')
      this.log('  dfs get hello.txt -')
      this.log('  dfs ls')
      this.log('  dfs stat hello.txt')
      this.log('  dfs status')
      this.log('')
      this.log('Press Ctrl-C to stop the cluster.')
    } catch (error) {
      await stopAll()
      throw error
    }

    // Runs until a signal stops everything, or a role dies on its own.
    const first = await Promise.race(children.map((c) => c.exited.then((code) => ({ c, code }))))
    if (!stopping) {
      await stopAll()
      throw new DfsError(
        'DFS_UNAVAILABLE',
        `${first.c.name} exited (${first.code ?? 'signal'}); stopped the cluster`,
      )
    }
    await Promise.all(children.map((c) => c.exited))
  }

  /** Logs in a local user whose password lives in the data root, and waits for the file servers. */
  private async loginLocalUser(root: string, proxyUrl: string, fileservers: number): Promise<string> {
    const name = userInfo().username
    const user = USER_NAME.test(name) ? name : 'dfs'
    const passwordFile = join(root, 'up-password')
    let password: string
    try {
      password = (await readFile(passwordFile, 'utf8')).trim()
    } catch {
      password = randomBytes(18).toString('base64url')
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 })
    }
    const ca = await readCaCert(root)
    if (!ca) throw new DfsError('DFS_INTERNAL', 'the directory made no CA')
    const client = new ProxyClient(proxyUrl, ca)
    try {
      const session = await client.login(user, password)
      client.useToken(session.token)
      openSettings().set({ proxy: proxyUrl, user, token: session.token, ca })
      for (let tries = 0; tries < 100; tries++) {
        const status = await client.status()
        if (status.servers.filter((s) => s.live).length >= fileservers) return user
        await sleep(100)
      }
      throw new DfsError('DFS_UNAVAILABLE', 'the file servers did not register with the directory')
    } finally {
      await client.close()
    }
  }
}
