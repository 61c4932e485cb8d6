// Starts a directory: the cluster CA, the metadata store and the HTTPS API.

import { hostname } from 'node:os'
import { join } from 'node:path'
import { makeAgent } from '../../client/agent.ts'
import { call } from '../../client/call-errors.ts'
import { agentJsonClient } from '../../client/json-calls.ts'
import { JSON_TIMEOUT_MS } from '../../client/timeouts.ts'
import { SqliteMetadataStore } from '../../metadata/sqlite-store.ts'
import type { MetadataStore } from '../../metadata/store.ts'
import { listen } from '../../server/app.ts'
import { systemClock, systemRandom } from '../../server/clock.ts'
import { periodic } from '../../server/periodic.ts'
import type { Running } from '../../server/lifecycle.ts'
import { directoryTls } from '../../tls/node-tls.ts'
import { hosts } from '../member.ts'
import type { OwnPkiFiles } from '../../tls/own-pki.ts'
import { AuditLog } from './audit-log.ts'
import { JoinService } from './join-service.ts'
import { NodeAdmin, Revocations } from './node-admin.ts'
import { buildDirectoryApp } from './app.ts'
import { Repairer } from './repairer.ts'
import { DEFAULT_DIRECTORY_CONFIG, DirectoryService } from './service.ts'

export interface DirectoryOptions {
  root: string
  /** A postgres:// URL; the embedded SQLite store in the data root without one. */
  metadata?: string
  host: string
  port: number
  advertise?: string
  replicas: number
  minCopies?: number
  liveAfterMs?: number
  deadAfterMs?: number
  keepVersions?: number
  repairRate?: number
  repairEveryMs?: number
  defaultMode?: number
  registration?: 'open' | 'closed'
  sessionIdleMs?: number
  sessionMaxMs?: number
  /** The operator's own CA and certificate (and, to sign joining nodes, the CA's key). */
  ownPki?: OwnPkiFiles & { caKey?: string }
}

export interface RunningDirectory extends Running {
  /** Made on the cluster's first start, for joining nodes from other hosts (shown once). */
  firstToken?: string
}

/** Changes the feed keeps for proxies that resume after a break. */
const FEED_KEEP = 100_000

const FIRST_TOKEN = { role: 'any', ttlMs: 24 * 3600 * 1000, uses: 10, createdBy: 'first start' } as const

async function openStore(options: DirectoryOptions): Promise<MetadataStore> {
  if (!options.metadata) return new SqliteMetadataStore(join(options.root, 'directory', 'metadata.sqlite'))
  // Loaded only when asked for: the embedded store needs no database client.
  const { PostgresMetadataStore } = await import('../../metadata/postgres-store.ts')
  return PostgresMetadataStore.open(options.metadata)
}

export async function startDirectory(options: DirectoryOptions): Promise<RunningDirectory> {
  const { tls, ca, created } = await directoryTls(options.root, hosts(options), options.ownPki)
  const store = await openStore(options)
  const joining = new JoinService(store, ca, systemClock)
  await joining.ensureLocalToken(options.root)
  const firstToken = created ? (await joining.create(FIRST_TOKEN)).token : undefined
  const service = new DirectoryService(
    store,
    {
      ...DEFAULT_DIRECTORY_CONFIG,
      replicas: options.replicas,
      minCopies: options.minCopies ?? options.replicas,
      liveAfterMs: options.liveAfterMs ?? DEFAULT_DIRECTORY_CONFIG.liveAfterMs,
      deadAfterMs: options.deadAfterMs ?? DEFAULT_DIRECTORY_CONFIG.deadAfterMs,
      keepVersions: options.keepVersions ?? DEFAULT_DIRECTORY_CONFIG.keepVersions,
      defaultMode: options.defaultMode ?? DEFAULT_DIRECTORY_CONFIG.defaultMode,
      registration: options.registration ?? DEFAULT_DIRECTORY_CONFIG.registration,
      sessionIdleMs: options.sessionIdleMs ?? DEFAULT_DIRECTORY_CONFIG.sessionIdleMs,
      sessionMaxMs: options.sessionMaxMs ?? DEFAULT_DIRECTORY_CONFIG.sessionMaxMs,
    },
    systemClock,
    systemRandom,
  )
  // Names written before permissions belong to their last writer.
  const claimed = await service.access.migrate()
  // Built before the repairer, which logs through the app's logger; its routes find it on the service.
  const revocations = new Revocations()
  await revocations.load(store, systemClock.now())
  const nodes = new NodeAdmin(store, service, revocations)
  // It logs its own failures through the app's logger, made with the app it is given to.
  const audit = new AuditLog({
    dir: join(options.root, 'directory'),
    clock: systemClock,
    log: { warn: (obj, msg) => app.log.warn(obj, msg) },
  })
  const app = buildDirectoryApp(service, { tls, join: joining, nodes, revocations, audit })
  // One directory of those sharing a store runs repair: the one holding the job's lease, renewed at
  // each pass and taken over by another once it lapses (three passes, 15 s at least, missed).
  const holder = `${hostname()}/${process.pid}/${systemRandom.token(6)}`
  const repairEveryMs = options.repairEveryMs ?? 5000
  const leaseMs = Math.max(3 * repairEveryMs, 15_000)
  // Revoked certificates, also those revoked through another directory, are refused here at once.
  const unsubscribeRevocations = store.subscribe((notice) => {
    if (notice.kind === 'revoked' || notice.kind === 'missed')
      void revocations.load(store, systemClock.now()).catch(() => undefined)
  })
  // Repair asks file servers to copy blobs to each other: the directory calls them with its own cert.
  const agent = makeAgent(tls)
  const repairer = new Repairer({
    store,
    servers: () => service.servers(),
    config: { replicas: service.config.replicas, ratePerSecond: options.repairRate ?? 5 },
    clock: systemClock,
    random: systemRandom,
    copy: async (task) => {
      await call(
        () =>
          agentJsonClient(task.source.url, agent, JSON_TIMEOUT_MS).call('post', 'v1/copy', {
            json: { sha256: task.sha256, target: task.target },
            timeout: 3_600_000,
          }),
        `file server ${task.source.id}`,
      )
    },
    log: app.log,
    lead: () => store.claimLeadership('repair', holder, systemClock.now(), leaseMs),
  })
  service.repairer = repairer
  repairer.start(repairEveryMs)
  if (claimed > 0) app.log.warn(`${claimed} names from before permissions now belong to their last writer`)
  const purge = periodic('session purge', () => service.accounts.purgeSessions(), {
    everyMs: 3600_000,
    firstDelayMs: 60_000,
    log: app.log,
  })
  // The feed keeps its newest changes: a proxy away for longer resyncs instead of catching up.
  const prune = periodic('change feed prune', () => store.pruneChanges(FEED_KEEP), {
    everyMs: 600_000,
    firstDelayMs: 60_000,
    log: app.log,
  })
  const close = async () => {
    service.leases.close()
    service.feed.close()
    await prune.stop()
    await purge.stop()
    await repairer.stop()
    unsubscribeRevocations()
    await store.resignLeadership('repair', holder).catch(() => undefined)
    await agent.close()
    await app.close()
    await audit.close()
    await store.close()
  }
  // A directory that cannot listen stops what it started, so the process ends with the error.
  const url = await listen(app, options.host, options.port, options.advertise).catch(
    async (error: unknown) => {
      await close().catch(() => undefined)
      throw error
    },
  )
  return { url, ...(firstToken ? { firstToken } : {}), close }
}
