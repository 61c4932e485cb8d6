import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.ts'
import { memberFlags, ownPki, parseDirectoryUrls } from '../cli/role-flags.ts'
import { size } from '../cli/size.ts'
import { dataRoot, privateDataRoot } from '../server/data-root.ts'
import { announce, closeOnSignals, listeningLine } from '../server/lifecycle.ts'
import { boundHeap, compactHeap } from '../streams/bounded-memory.ts'

export default class Proxy extends BaseCommand {
  static override summary = 'Run a client proxy: the user API, login and downloads from replicas'
  static override enableJsonFlag = false
  static override examples = [
    '<%= config.bin %> proxy --id 1 --port 5000',
    '<%= config.bin %> proxy --id 2 --port 5010',
  ]

  static override flags = {
    id: Flags.integer({ description: "this proxy's id", required: true, min: 1, max: 1_000_000 }),
    ...memberFlags,
    'cache-size': size({
      description: 'bound of the whole-file cache (e.g. 1GiB, 500MB)',
      default: 1024 ** 3,
    }),
    webdav: Flags.boolean({
      description: 'also serve the namespace over WebDAV at /dav/ (rclone, davfs2, file managers)',
      default: false,
    }),
    ui: Flags.boolean({
      description: 'serve the web dashboard at /ui/ (--no-ui: not)',
      default: true,
      allowNo: true,
    }),
  }

  async run(): Promise<void> {
    boundHeap()
    const { flags } = await this.parse(Proxy)
    // The roles' loggers read it (log-format.ts), as they do when DFS_LOG is set.
    process.env.DFS_LOG = flags['log-level']
    const directories = parseDirectoryUrls(flags.directory)
    const root = privateDataRoot(dataRoot(flags.data))
    // Loaded on demand, so user commands do not pay for the server code at start-up.
    const { startProxy } = await import('../roles/proxy/run.ts')
    const running = await startProxy({
      id: flags.id,
      root,
      host: flags.host,
      port: flags.port,
      advertise: flags.advertise,
      directories,
      join: flags.join,
      ownPki: ownPki(flags),
      renewEveryMs: flags['renew-every'],
      cacheBytes: flags['cache-size'],
      webdav: flags.webdav,
      ui: flags.ui,
    })
    const log = await announce('proxy', flags.id, flags['log-level'], [
      listeningLine('proxy', flags.id, running.url, root),
    ])
    compactHeap()
    await closeOnSignals(running, log)
  }
}
