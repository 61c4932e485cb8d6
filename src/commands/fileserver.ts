import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.ts'
import { memberFlags, ownPki, parseDirectoryUrls } from '../cli/role-flags.ts'
import { duration } from '../cli/duration.ts'
import { size } from '../cli/size.ts'
import { dataRoot, privateDataRoot } from '../server/data-root.ts'
import { announce, closeOnSignals, listeningLine } from '../server/lifecycle.ts'
import { boundHeap, compactHeap } from '../streams/bounded-memory.ts'

export default class FileServer extends BaseCommand {
  static override summary = 'Run a file server: stores blobs by hash and replicates them'
  static override enableJsonFlag = false
  static override examples = [
    '<%= config.bin %> fileserver --id 1 --port 5060',
    '<%= config.bin %> fileserver --id 2 --port 5070',
  ]

  static override flags = {
    id: Flags.integer({
      description: "this file server's id, unique in the cluster",
      required: true,
      min: 1,
      max: 1_000_000,
    }),
    ...memberFlags,
    heartbeat: duration({
      description: 'time between heartbeats to the directory',
      default: 2000,
      min: 100,
    }),
    'inventory-every': duration({
      description:
        'how often to report the blobs added and removed since the last report, and collect garbage',
      default: 10 * 60_000,
    }),
    'full-inventory-every': duration({
      description: 'how often that report lists every blob held instead (also on start)',
      default: 24 * 3600_000,
    }),
    'gc-grace': duration({ description: 'keep unreferenced blobs at least this long', default: 60 * 60_000 }),
    'scrub-every': duration({
      description: 'pause between scrub passes that re-hash every blob',
      default: 60 * 60_000,
    }),
    'scrub-rate': size({
      description: 'bytes re-hashed per second while scrubbing',
      default: 32 * 1024 ** 2,
    }),
  }

  async run(): Promise<void> {
    boundHeap()
    const { flags } = await this.parse(FileServer)
    // The roles' loggers read it (log-format.ts), as they do when DFS_LOG is set.
    process.env.DFS_LOG = flags['log-level']
    const directories = parseDirectoryUrls(flags.directory)
    const root = privateDataRoot(dataRoot(flags.data))
    // Loaded on demand, so user commands do not pay for the server code at start-up.
    const { startFileServer } = await import('../roles/fileserver/run.ts')
    const running = await startFileServer({
      id: flags.id,
      root,
      host: flags.host,
      port: flags.port,
      advertise: flags.advertise,
      directories,
      join: flags.join,
      ownPki: ownPki(flags),
      renewEveryMs: flags['renew-every'],
      heartbeatMs: flags.heartbeat,
      inventoryMs: flags['inventory-every'],
      fullInventoryMs: flags['full-inventory-every'],
      gcGraceMs: flags['gc-grace'],
      scrubMs: flags['scrub-every'],
      scrubRate: Math.max(flags['scrub-rate'], 1),
    })
    const log = await announce('fileserver', flags.id, flags['log-level'], [
      listeningLine('fileserver', flags.id, running.url, root),
    ])
    compactHeap()
    await closeOnSignals(running, log)
  }
}
