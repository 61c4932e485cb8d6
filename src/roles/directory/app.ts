// The directory's HTTP API. Every caller is another dfs node presenting a certificate signed by the
// cluster CA (enforced by TLS); every input is checked by a schema, and names by normaliseName. The
// routes are grouped by area: membership, accounts, the namespace and inventories (their own
// files), and here the file servers' liveness and reports, status, repair and the change stream.
// What users and nodes change is recorded in the audit log by the routes of each area.

import type { FastifyInstance } from 'fastify'
import { DfsError } from '../../protocol/errors.ts'
import { jobState } from '../../protocol/schemas.ts'
import type { CallbackGrant, DirectoryStatus, Heartbeat } from '../../protocol/types.ts'
import { snapshot, type RoleMetric } from '../../server/metrics.ts'
import { createApp, speaksFor, streamEvents, type AccessTable, type AppOptions } from '../../server/app.ts'
import { registerAccountRoutes } from './account-routes.ts'
import { adminOf, registerActingUser } from './acting-user.ts'
import type { AuditLog } from './audit-log.ts'
import { registerAuditRoutes } from './audit-routes.ts'
import { registerCollectionRoutes } from './collection-routes.ts'
import { registerInventoryRoutes } from './inventory-routes.ts'
import type { JoinService } from './join-service.ts'
import { registerMembershipRoutes } from './membership-routes.ts'
import { registerNamespaceRoutes } from './namespace-routes.ts'
import type { NodeAdmin, Revocations } from './node-admin.ts'
import type { DirectoryService } from './service.ts'

const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const
const serverId = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const
const serverIds = { type: 'array', items: serverId, maxItems: 64, uniqueItems: true } as const
const FS = ['fileserver'] as const
const PROXY = ['proxy'] as const
const MEMBERS = ['fileserver', 'proxy'] as const

/** Who may call what: file servers speak for their blobs, proxies for their users, nobody else. */
const ACCESS: AccessTable = {
  'POST /v1/join': 'public',
  'POST /v1/certificates/renew': MEMBERS,
  'POST /v1/servers/heartbeat': FS,
  'POST /v1/servers/:id/inventory': FS,
  'POST /v1/servers/:id/inventory/pages': FS,
  'POST /v1/servers/:id/inventory/changes': FS,
  'POST /v1/servers/:id/unreachable': MEMBERS,
  'GET /v1/servers': MEMBERS,
  'GET /v1/clock': FS,
  'POST /v1/reports': MEMBERS,
  'POST /v1/commits': FS,
  'POST /v1/placements/replacements': FS,
  'POST /v1/placements': PROXY,
  'POST /v1/placements/batch': PROXY,
  'GET /v1/repair/plan': PROXY,
  'POST /v1/repair/run': PROXY,
  'GET /v1/versions': PROXY,
  'POST /v1/restore': PROXY,
  'GET /v1/events': PROXY,
  'POST /v1/callbacks': PROXY,
  'GET /v1/status': PROXY,
  'POST /v1/locks': PROXY,
  'POST /v1/locks/renew': PROXY,
  'POST /v1/locks/release': PROXY,
  'GET /v1/files': PROXY,
  'GET /v1/blocks': PROXY,
  'DELETE /v1/files': PROXY,
  'GET /v1/list': PROXY,
  'POST /v1/folders': PROXY,
  'DELETE /v1/folders': PROXY,
  'GET /v1/folders': PROXY,
  'POST /v1/move': PROXY,
  'POST /v1/copy': PROXY,
  'GET /v1/props': PROXY,
  'POST /v1/props': PROXY,
  'POST /v1/login': PROXY,
  'POST /v1/sessions/check': PROXY,
  'POST /v1/logout': PROXY,
  'POST /v1/passwd': PROXY,
  'GET /v1/users': PROXY,
  'POST /v1/users': PROXY,
  'POST /v1/users/rm': PROXY,
  'GET /v1/groups': PROXY,
  'POST /v1/groups': PROXY,
  'POST /v1/groups/rm': PROXY,
  'POST /v1/perms': PROXY,
  'GET /v1/perms/rules': PROXY,
  'POST /v1/tokens': PROXY,
  'GET /v1/tokens': PROXY,
  'POST /v1/tokens/revoke': PROXY,
  'GET /v1/nodes': PROXY,
  'POST /v1/nodes/drain': PROXY,
  'POST /v1/nodes/rm': PROXY,
  'GET /v1/audit': PROXY,
}

export interface DirectoryAppOptions extends Omit<AppOptions, 'role' | 'nodes'> {
  join: JoinService
  nodes: NodeAdmin
  /** Certificates of removed nodes, refused on every call. */
  revocations: Revocations
  audit: AuditLog
}

export function buildDirectoryApp(service: DirectoryService, options: DirectoryAppOptions): FastifyInstance {
  const { join, nodes, revocations, audit, ...rest } = options
  // 'optional': a node that has not joined yet has no certificate; only /v1/join takes it.
  const app = createApp({
    ...rest,
    role: 'directory',
    nodes: { access: ACCESS, certificates: 'optional', revoked: (serial) => revocations.has(serial) },
  })
  for (const metric of directoryMetrics(service)) app.metrics.add(metric)
  // No answer tells of a transaction that a crash could still undo: it waits for the log's fsync.
  const store = service.store
  if (store.settled) app.addHook('onSend', async () => await store.settled?.())
  registerActingUser(app, service.accounts)
  registerMembershipRoutes(app, { join, nodes, audit })
  registerAccountRoutes(app, service.accounts, audit)
  registerNamespaceRoutes(app, service, audit)
  registerCollectionRoutes(app, service, audit)
  registerAuditRoutes(app, audit)
  registerInventoryRoutes(app, service.inventories)

  app.post<{ Body: Heartbeat }>(
    '/v1/servers/heartbeat',
    {
      schema: {
        body: {
          type: 'object',
          required: ['id', 'url', 'freeBytes'],
          additionalProperties: false,
          properties: {
            id: serverId,
            url: { type: 'string', pattern: '^https://', maxLength: 512 },
            freeBytes: { type: 'integer', minimum: 0 },
            jobs: {
              type: 'object',
              additionalProperties: false,
              properties: { inventory: jobState, scrub: jobState, renewal: jobState },
            },
          },
        },
      },
    },
    async (request) => {
      speaksFor(request, 'fileserver', request.body.id)
      await service.heartbeat(request.body)
      // File servers refuse removed nodes too: they learn of them here.
      return { ok: true, revoked: revocations.list() }
    },
  )

  app.get('/v1/servers', async () => service.servers())

  // A node could not connect to a file server: it is not placed on until its next heartbeat.
  app.post<{ Params: { id: number }; Body: { reason: string } }>(
    '/v1/servers/:id/unreachable',
    {
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: serverId } },
        body: {
          type: 'object',
          required: ['reason'],
          additionalProperties: false,
          properties: { reason: { type: 'string', maxLength: 500 } },
        },
      },
    },
    async (request) => {
      request.log.warn(`file server ${request.params.id} unreachable: ${request.body.reason}`)
      service.markUnreachable(request.params.id)
      return { ok: true }
    },
  )
  app.get('/v1/clock', async () => ({ now: service.now() }))

  app.post<{ Body: { server: number; sha256: string; reason: string } }>(
    '/v1/reports',
    {
      schema: {
        body: {
          type: 'object',
          required: ['server', 'sha256', 'reason'],
          additionalProperties: false,
          properties: { server: serverId, sha256, reason: { type: 'string', maxLength: 500 } },
        },
      },
    },
    async (request) => {
      request.log.warn(request.body, 'bad copy reported')
      await service.report(request.body)
      return { ok: true }
    },
  )

  // For admins: the plan names files of every user.
  app.get('/v1/repair/plan', async (request) => {
    adminOf(request, 'see the repair plan')
    if (!service.repairer) throw new DfsError('DFS_UNAVAILABLE', 'repair is not running on this directory')
    return service.repairer.plan()
  })

  app.post('/v1/repair/run', async (request) => {
    adminOf(request, 'run repair')
    if (!service.repairer) throw new DfsError('DFS_UNAVAILABLE', 'repair is not running on this directory')
    const outcome = await service.repairer.runNow()
    return { ...outcome, status: service.repairer.status }
  })

  // Server-sent events: a `position` event with the feed's number to resume after, then one event
  // per change to the namespace with its number as the id. `?after=N` (or Last-Event-ID) resumes
  // after N; a `resync` event says the changes after N are no longer kept.
  service.feed.log = app.log
  app.get<{ Querystring: { after?: number } }>(
    '/v1/events',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
        },
      },
    },
    (request, reply) => {
      const header = request.headers['last-event-id']
      const resume = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined
      streamEvents<object>(reply, (send) => {
        const unsubscribe = service.feed.subscribe(request.query.after ?? resume, {
          change: (change) => send(change, { id: change.seq }),
          position: (seq) => send({ seq }, { event: 'position', id: seq }),
          resync: (seq) => send({ seq }, { event: 'resync', id: seq }),
        })
        // Who may read what changed: the proxy forgets what it trusted (callbacks.ts).
        send({ epoch: service.callbacks.epoch }, { event: 'epoch' })
        const unwatch = service.callbacks.onEpoch((epoch) => send({ epoch }, { event: 'epoch' }))
        return () => {
          unsubscribe()
          unwatch()
        }
      })
    },
  )

  // A proxy has applied every change up to `seq` (and forgotten what it trusted before `epoch`):
  // its promise is renewed (callbacks.ts).
  app.post<{ Body: { seq: number; epoch: number } }>(
    '/v1/callbacks',
    {
      schema: {
        body: {
          type: 'object',
          required: ['seq', 'epoch'],
          additionalProperties: false,
          properties: {
            seq: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            epoch: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          },
        },
      },
    },
    async (request): Promise<CallbackGrant> =>
      service.callbacks.ack(request.node!.id, request.body.seq, request.body.epoch),
  )
  app.get('/v1/status', async () => service.status())

  // A proxy's placements for new small files, asked for ahead of the writes (placement-pool.ts).
  app.post<{ Body: { size: number; count: number } }>(
    '/v1/placements/batch',
    {
      schema: {
        body: {
          type: 'object',
          required: ['size', 'count'],
          additionalProperties: false,
          properties: {
            size: { type: 'integer', minimum: 0 },
            count: { type: 'integer', minimum: 1, maximum: 256 },
          },
        },
      },
    },
    async (request) => service.placements(request.body.size, request.body.count),
  )

  // A primary whose replica failed mid-write asks for servers to copy the finished blob to instead.
  app.post<{ Body: { size: number; count: number; avoid: number[] } }>(
    '/v1/placements/replacements',
    {
      schema: {
        body: {
          type: 'object',
          required: ['size', 'count', 'avoid'],
          additionalProperties: false,
          properties: {
            size: { type: 'integer', minimum: 0 },
            count: { type: 'integer', minimum: 1, maximum: 16 },
            avoid: serverIds,
          },
        },
      },
    },
    async (request) => service.replacements(request.body.size, request.body.count, request.body.avoid),
  )

  return app
}

/** The directory's own figures for /metrics: the namespace, the file servers and repair. */
function directoryMetrics(service: DirectoryService): RoleMetric[] {
  const status = snapshot(() => service.status())
  const gauge = (name: string, help: string, value: (s: DirectoryStatus) => number): RoleMetric => ({
    name,
    help,
    type: 'gauge',
    value: async () => value(await status()),
  })
  const counter = (name: string, help: string, value: (s: DirectoryStatus) => number): RoleMetric => ({
    ...gauge(name, help, value),
    type: 'counter',
  })
  return [
    gauge('dfs_directory_files', 'Current names in the namespace', (s) => s.files),
    gauge('dfs_directory_bytes', 'Bytes of the current versions (one copy each)', (s) => s.bytes),
    gauge('dfs_directory_fileservers', 'File servers known', (s) => s.servers.length),
    gauge(
      'dfs_directory_fileservers_live',
      'File servers live now',
      (s) => s.servers.filter((x) => x.live).length,
    ),
    gauge('dfs_directory_free_bytes', 'Free bytes on the live file servers, together', (s) =>
      s.servers.filter((x) => x.live).reduce((sum, x) => sum + x.freeBytes, 0),
    ),
    gauge(
      'dfs_repair_under_replicated',
      'Versions with fewer copies than R',
      (s) => s.repair.underReplicated,
    ),
    gauge('dfs_repair_lost', 'Versions with no good copy left', (s) => s.repair.lost),
    counter('dfs_repair_copies_made_total', 'Copies repair has made', (s) => s.repair.repaired),
    counter('dfs_repair_copies_failed_total', 'Copies repair failed to make', (s) => s.repair.failed),
    gauge('dfs_bad_copies_reported', 'Bad copies reported and kept for dfs status', (s) => s.reports.length),
  ]
}
