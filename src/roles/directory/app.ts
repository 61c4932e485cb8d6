// The directory's HTTP API. Every caller is another dfs node presenting a certificate signed by the
// cluster CA (enforced by TLS); every input is checked by a schema, and names by normaliseName.

import type { FastifyInstance } from 'fastify'
import { DfsError } from '../../protocol/errors.ts'
import { normaliseName, normalisePrefix } from '../../protocol/names.ts'
import { jobState, nameQuery, proxyLoginBody } from '../../protocol/schemas.ts'
import type { CommitRequest, CommittedVersion, Heartbeat } from '../../protocol/types.ts'
import {
  abortOnHangUp,
  createApp,
  speaksFor,
  streamEvents,
  type AccessTable,
  type AppOptions,
} from '../../server/app.ts'
import type { JoinService } from './join-service.ts'
import { registerMembershipRoutes } from './membership-routes.ts'
import type { NodeAdmin, Revocations } from './node-admin.ts'
import type { DirectoryService } from './service.ts'

const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const
const serverId = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const
const serverIds = { type: 'array', items: serverId, maxItems: 64, uniqueItems: true } as const
const token = { type: 'integer', minimum: 1 } as const
const ttlMs = { type: 'integer', minimum: 1000, maximum: 600_000 } as const
const FS = ['fileserver'] as const
const PROXY = ['proxy'] as const
const MEMBERS = ['fileserver', 'proxy'] as const

/** Who may call what: file servers speak for their blobs, proxies for their users, nobody else. */
const ACCESS: AccessTable = {
  'POST /v1/join': 'public',
  'POST /v1/certificates/renew': MEMBERS,
  'POST /v1/servers/heartbeat': FS,
  'POST /v1/servers/:id/inventory': FS,
  'POST /v1/servers/:id/unreachable': MEMBERS,
  'GET /v1/servers': MEMBERS,
  'GET /v1/clock': FS,
  'POST /v1/reports': MEMBERS,
  'POST /v1/commits': FS,
  'POST /v1/placements/replacements': FS,
  'POST /v1/placements': PROXY,
  'GET /v1/repair/plan': PROXY,
  'POST /v1/repair/run': PROXY,
  'GET /v1/versions': PROXY,
  'POST /v1/restore': PROXY,
  'GET /v1/events': PROXY,
  'GET /v1/status': PROXY,
  'POST /v1/locks': PROXY,
  'POST /v1/locks/renew': PROXY,
  'POST /v1/locks/release': PROXY,
  'GET /v1/files': PROXY,
  'DELETE /v1/files': PROXY,
  'GET /v1/list': PROXY,
  'POST /v1/login': PROXY,
  'POST /v1/sessions/check': PROXY,
  'POST /v1/tokens': PROXY,
  'GET /v1/tokens': PROXY,
  'POST /v1/tokens/revoke': PROXY,
  'GET /v1/nodes': PROXY,
  'POST /v1/nodes/drain': PROXY,
  'POST /v1/nodes/rm': PROXY,
}

export interface DirectoryAppOptions extends Omit<AppOptions, 'role' | 'nodes'> {
  join: JoinService
  nodes: NodeAdmin
  /** Certificates of removed nodes, refused on every call. */
  revocations: Revocations
}

export function buildDirectoryApp(service: DirectoryService, options: DirectoryAppOptions): FastifyInstance {
  const { join, nodes, revocations, ...rest } = options
  // 'optional': a node that has not joined yet has no certificate; only /v1/join takes it.
  const app = createApp({
    ...rest,
    role: 'directory',
    nodes: { access: ACCESS, certificates: 'optional', revoked: (serial) => revocations.has(serial) },
  })
  registerMembershipRoutes(app, { join, nodes, service })

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

  app.post<{ Params: { id: number }; Body: { blobs: string[]; asOf?: number } }>(
    '/v1/servers/:id/inventory',
    {
      // A server with a million blobs sends 65 MB of hashes; nothing else here is that large.
      bodyLimit: 256 * 1024 * 1024,
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: serverId } },
        body: {
          type: 'object',
          required: ['blobs'],
          additionalProperties: false,
          properties: {
            blobs: { type: 'array', items: sha256 },
            asOf: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
    async (request) => {
      speaksFor(request, 'fileserver', request.params.id)
      return service.inventory(request.params.id, request.body.blobs, request.body.asOf)
    },
  )

  app.get('/v1/repair/plan', async () => {
    if (!service.repairer) throw new DfsError('DFS_UNAVAILABLE', 'repair is not running on this directory')
    return service.repairer.plan()
  })

  app.post('/v1/repair/run', async () => {
    if (!service.repairer) throw new DfsError('DFS_UNAVAILABLE', 'repair is not running on this directory')
    const outcome = await service.repairer.pass()
    return { ...outcome, status: service.repairer.status }
  })

  app.get<{ Querystring: { name: string } }>(
    '/v1/versions',
    { schema: { querystring: nameQuery } },
    async (request) => service.history(normaliseName(request.query.name)),
  )

  app.post<{ Body: { name: string; version: number; writer: string } }>(
    '/v1/restore',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'version', 'writer'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 4096 },
            version: { type: 'integer', minimum: 1 },
            writer: { type: 'string', maxLength: 64 },
          },
        },
      },
    },
    async (request) =>
      service.restore(normaliseName(request.body.name), request.body.version, request.body.writer),
  )

  // Server-sent events: one `data:` line of JSON per change to the namespace.
  app.get('/v1/events', (request, reply) => {
    streamEvents(reply, (send) => service.onChange(send))
  })
  app.get('/v1/status', async () => service.status())

  app.post<{ Body: { name: string; size: number; token?: number; create?: boolean; avoid?: number[] } }>(
    '/v1/placements',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'size'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 4096 },
            size: { type: 'integer', minimum: 0 },
            token,
            create: { type: 'boolean' },
            avoid: serverIds,
          },
        },
      },
    },
    async (request) => {
      const { name, size, ...options } = request.body
      return service.place(normaliseName(name), size, options)
    },
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

  app.post<{ Body: { name: string; user: string; proxy: number; ttlMs: number; waitMs: number } }>(
    '/v1/locks',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'user', 'proxy', 'ttlMs', 'waitMs'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 4096 },
            user: { type: 'string', maxLength: 64 },
            proxy: serverId,
            ttlMs,
            waitMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
          },
        },
      },
    },
    async (request, reply) => {
      const { name, user, proxy, ttlMs, waitMs } = request.body
      // A waiter whose proxy hangs up leaves the line.
      const gone = abortOnHangUp(reply)
      return service.leases.acquire(normaliseName(name), { user, proxy }, ttlMs, waitMs, gone)
    },
  )

  app.post<{ Body: { name: string; token: number; ttlMs: number } }>(
    '/v1/locks/renew',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'token', 'ttlMs'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 4096 }, token, ttlMs },
        },
      },
    },
    async (request) =>
      service.leases.renew(normaliseName(request.body.name), request.body.token, request.body.ttlMs),
  )

  app.post<{ Body: { name: string; token: number } }>(
    '/v1/locks/release',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'token'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 4096 }, token },
        },
      },
    },
    async (request) => ({
      released: await service.leases.release(normaliseName(request.body.name), request.body.token),
    }),
  )

  app.post<{ Body: CommitRequest }>(
    '/v1/commits',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'expectedVersion', 'sha256', 'size', 'primary', 'holders', 'writer'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 4096 },
            expectedVersion: { type: 'integer', minimum: 0 },
            sha256,
            size: { type: 'integer', minimum: 0 },
            primary: serverId,
            holders: { type: 'array', items: serverId, minItems: 1, maxItems: 16, uniqueItems: true },
            writer: { type: 'string', maxLength: 64 },
            token,
          },
        },
      },
    },
    async (request): Promise<CommittedVersion> => {
      // Only the primary commits, and only for itself.
      speaksFor(request, 'fileserver', request.body.primary)
      return {
        ...(await service.commit({ ...request.body, name: normaliseName(request.body.name) })),
        wanted: service.config.replicas,
      }
    },
  )

  app.get<{ Querystring: { name: string } }>(
    '/v1/files',
    { schema: { querystring: nameQuery } },
    async (request) => service.locate(normaliseName(request.query.name)),
  )

  app.delete<{ Querystring: { name: string } }>(
    '/v1/files',
    { schema: { querystring: nameQuery } },
    async (request) => service.remove(normaliseName(request.query.name)),
  )

  app.get<{ Querystring: { prefix?: string; limit?: number } }>(
    '/v1/list',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            prefix: { type: 'string', maxLength: 4096 },
            limit: { type: 'integer', minimum: 1, maximum: 100_000 },
          },
        },
      },
    },
    async (request) => service.list(normalisePrefix(request.query.prefix), request.query.limit ?? 10_000),
  )

  app.post<{ Body: { user: string; password: string; client?: string } }>(
    '/v1/login',
    { schema: { body: proxyLoginBody } },
    async (request) => service.login(request.body.user, request.body.password, request.body.client),
  )

  app.post<{ Body: { token: string } }>(
    '/v1/sessions/check',
    {
      schema: {
        body: {
          type: 'object',
          required: ['token'],
          additionalProperties: false,
          properties: { token: { type: 'string', maxLength: 256 } },
        },
      },
    },
    async (request) => service.authenticate(request.body.token),
  )

  return app
}
