import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.ts'
import { logFlags, ownPki, pkiFlags } from '../cli/role-flags.ts'
import { duration } from '../cli/duration.ts'
import { DfsError } from '../protocol/errors.ts'
import { parseMode } from '../protocol/permissions.ts'
import { dataRoot, privateDataRoot } from '../server/data-root.ts'
import { announce, closeOnSignals, listeningLine } from '../server/lifecycle.ts'
import { boundHeap, compactHeap } from '../streams/bounded-memory.ts'
import { redact } from '../metadata/redact.ts'

export default class Directory extends BaseCommand {
  static override summary = 'Run the directory server: namespace, placement, users and the cluster CA'
  static override enableJsonFlag = false
  static override examples = [
    '<%= config.bin %> directory',
    '<%= config.bin %> directory --port 5050 --data /srv/dfs',
  ]

  static override flags = {
    ...logFlags,
    port: Flags.integer({
      description: 'port to listen on (0: any free port)',
      default: 5050,
      min: 0,
      max: 65535,
    }),
    host: Flags.string({ description: 'address to bind', default: '127.0.0.1' }),
    advertise: Flags.string({ description: 'host name other nodes use to reach this one' }),
    data: Flags.string({ description: 'data root (default: $DFS_DATA, or ~/.local/share/dfs)' }),
    metadata: Flags.string({
      description:
        'where the namespace, users and leases live: sqlite (in the data root) or a postgres:// URL that several directories can share (put its password in DFS_METADATA or PGPASSWORD, not on the command line)',
      env: 'DFS_METADATA',
      default: 'sqlite',
    }),
    replicas: Flags.integer({ description: 'copies of every file', default: 2, min: 1, max: 8 }),
    'min-copies': Flags.integer({
      description:
        'copies a write needs to succeed (default: --replicas); between the two, a write is stored short and repaired',
      min: 1,
      max: 8,
    }),
    'dead-after': duration({
      description: 'silence after which a file server is dead and its copies are replaced (e.g. 10m)',
      default: 10 * 60_000,
    }),
    'repair-every': duration({ description: 'pause between repair passes (e.g. 5s)', default: 5000 }),
    'repair-rate': Flags.integer({
      description: 'copies started per second at most by repair',
      default: 5,
      min: 1,
    }),
    'keep-versions': Flags.integer({
      description: 'versions kept per name, the current one included',
      default: 5,
      min: 1,
    }),
    ...pkiFlags,
    'ca-key': Flags.string({
      description:
        'with your own --ca-cert: its key, so the directory signs joining nodes (else nodes bring their own)',
      dependsOn: ['ca-cert'],
    }),
    'default-mode': Flags.string({
      description: 'mode of new names below no prefix rule, in group users (664: everyone reads, users edit)',
      default: '664',
    }),
    registration: Flags.string({
      description:
        'open: a first login registers the name (the first user is admin); closed: only admins add users',
      options: ['open', 'closed'],
      default: 'open',
    }),
    'session-idle': duration({
      description: 'a session unused this long ends (e.g. 24h)',
      default: 24 * 3600_000,
    }),
    'session-max': duration({
      description: 'a session ends this long after login (e.g. 7d)',
      default: 7 * 24 * 3600_000,
    }),
    'live-after': duration({
      description: 'silence after which a file server is not used, until it heartbeats again (e.g. 15s)',
      default: 15_000,
      min: 1000,
    }),
  }

  async run(): Promise<void> {
    boundHeap()
    const { flags } = await this.parse(Directory)
    // The roles' loggers read it (log-format.ts), as they do when DFS_LOG is set.
    process.env.DFS_LOG = flags['log-level']
    const minCopies = flags['min-copies'] ?? flags.replicas
    if (minCopies > flags.replicas)
      throw new DfsError('DFS_USAGE', `--min-copies ${minCopies} is more than --replicas ${flags.replicas}`)
    if (!/^0?[0-7]{3}$/.test(flags['default-mode']))
      throw new DfsError(
        'DFS_USAGE',
        `--default-mode ${flags['default-mode']}: give octal bits, e.g. 664 or 640`,
      )
    const metadata = metadataUrl(flags.metadata)
    const root = privateDataRoot(dataRoot(flags.data))
    const own = ownPki(flags)
    // Loaded on demand, so user commands do not pay for the server code at start-up.
    const { startDirectory } = await import('../roles/directory/run.ts')
    const running = await startDirectory({
      root,
      ...(metadata ? { metadata } : {}),
      host: flags.host,
      port: flags.port,
      advertise: flags.advertise,
      replicas: flags.replicas,
      minCopies,
      liveAfterMs: flags['live-after'],
      deadAfterMs: flags['dead-after'],
      repairRate: flags['repair-rate'],
      repairEveryMs: flags['repair-every'],
      keepVersions: flags['keep-versions'],
      defaultMode: parseMode(flags['default-mode']),
      registration: flags.registration as 'open' | 'closed',
      sessionIdleMs: flags['session-idle'],
      sessionMaxMs: flags['session-max'],
      ...(own ? { ownPki: { ...own, ...(flags['ca-key'] ? { caKey: flags['ca-key'] } : {}) } } : {}),
    })
    const log = await announce('directory', undefined, flags['log-level'], [
      listeningLine('directory', undefined, running.url, root) +
        (metadata ? ` (metadata ${redact(metadata)})` : ''),
      ...(running.firstToken ? [firstTokenHelp(running.firstToken, running.url, root)] : []),
    ])
    compactHeap()
    await closeOnSignals(running, log)
  }
}

/** A postgres:// URL, or undefined for the embedded store; anything else is a usage error. */
function metadataUrl(value: string): string | undefined {
  if (value === 'sqlite') return undefined
  if (/^postgres(ql)?:\/\//.test(value)) return value
  throw new DfsError('DFS_USAGE', '--metadata: give sqlite or a postgres:// URL')
}

/** Shown once, on the cluster's first start: how nodes on other hosts join. */
function firstTokenHelp(token: string, url: string, root: string): string {
  return [
    `join token for other hosts (any role, 10 joins, 24 hours): ${token}`,
    `  dfs fileserver --id N --port 5060 --host 0.0.0.0 --advertise HOST --directory ${url} --join ${token}`,
    `  dfs proxy --id N --port 5000 --host 0.0.0.0 --advertise HOST --directory ${url} --join ${token}`,
    `  more tokens: dfs token create --role fileserver --data ${root}  (roles on this host need none)`,
  ].join('\n')
}
