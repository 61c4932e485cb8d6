// The proxy's HTTP API for the CLI. Clients authenticate with a bearer token from /v1/login; they
// need no certificate of their own, only trust in the cluster CA.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DfsError } from '../../protocol/errors.ts'
import { normaliseName, normalisePrefix } from '../../protocol/names.ts'
import { LEASE_KEY_PATTERN } from '../../protocol/lease-key.ts'
import { allowed } from '../../protocol/permissions.ts'
import { listQuery, loginBody, nameQuery, type ListQuery } from '../../protocol/schemas.ts'
import { abortOnHangUp, createApp, streamEvents, type AppOptions } from '../../server/app.ts'
import { declaredLength, uploadBody } from '../../server/upload-body.ts'
import type { ChangeEvent, ChangeFeedState, NewTokenRequest, NodeRemoval } from '../../protocol/types.ts'
import { registerAccessRoutes } from './access-routes.ts'
import type { Caller, ProxyService } from './service.ts'
import { sendFile } from './send-file.ts'
import { registerWebDav } from './webdav/gateway.ts'
import type { RoleMetric } from '../../server/metrics.ts'
import { registerUi } from './ui/routes.ts'
import { registerDownloadRoutes } from './download-routes.ts'
import { DownloadTickets, ticketTtlMs } from './download-tickets.ts'
import { systemClock, systemRandom } from '../../server/clock.ts'

export const DEFAULT_TTL_MS = 30_000
export const DEFAULT_WAIT_MS = 5 * 60_000

const lease = { type: 'string', maxLength: 80, pattern: LEASE_KEY_PATTERN } as const
const leaseBody = {
  type: 'object',
  required: ['name', 'lease'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 4096 },
    lease,
    ttl: { type: 'integer', minimum: 1000, maximum: 600_000 },
  },
} as const

declare module 'fastify' {
  interface FastifyRequest {
    /** The user of the bearer token, with the directory's API on their behalf. */
    caller: Caller
  }
}

export interface ProxyAppOptions extends Omit<AppOptions, 'role' | 'nodes'> {
  /** The subscription to the directory's changes (a ChangeFeed), shown in /v1/status. */
  changeFeed: { readonly state: ChangeFeedState }
  /** Serve the namespace over WebDAV at /dav/ too (dfs proxy --webdav). */
  webdav?: boolean
  /** Serve the web dashboard at /ui/ (default on; dfs proxy --no-ui). */
  ui?: boolean
  /** The browser's one-use download links (default: a minute each, or DFS_DOWNLOAD_TICKET_MS). */
  downloadTickets?: DownloadTickets
}

export function buildProxyApp(service: ProxyService, options: ProxyAppOptions): FastifyInstance {
  // Users' routes: bearer tokens, no client certificates.
  const app = createApp({ ...options, role: 'proxy', id: service.id })
  app.decorateRequest('caller', undefined as unknown as Caller)

  // Run as the route's onRequest hook: before the body is read, so a caller who is not logged in
  // learns nothing about what is wrong with their body.
  const authenticated = async (request: FastifyRequest) => {
    request.caller = await service.authenticate(bearer(request), { client: request.ip })
  }
  // Asked of the directory every time: the CLI relies on it to know whether its session still holds.
  const checkedNow = async (request: FastifyRequest) => {
    request.caller = await service.authenticate(bearer(request), { fresh: true, client: request.ip })
  }

  app.post<{ Body: { user: string; password: string } }>(
    '/v1/login',
    {
      schema: { body: loginBody },
    },
    // The directory throttles failures per user and per client address, across every proxy.
    async (request) => service.directory.login(request.body.user, request.body.password, request.ip),
  )

  app.get('/v1/whoami', { onRequest: checkedNow }, async (request) => ({
    user: request.caller.user,
    admin: request.caller.admin,
    groups: request.caller.groups,
    proxy: service.id,
  }))

  app.put<{ Querystring: { name: string; lease?: string; create?: boolean; length?: number } }>(
    '/v1/files',
    {
      onRequest: authenticated,
      schema: {
        querystring: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', maxLength: 4096 },
            lease,
            create: { type: 'boolean' },
            length: { type: 'integer', minimum: 0 },
          },
        },
        headers: { type: 'object', properties: { 'content-type': { const: 'application/octet-stream' } } },
      },
    },
    async (request) => {
      const { name, lease: key, create } = request.query
      return service.upload(request.caller, normaliseName(name), uploadBody(request), {
        length: declaredLength(request, request.query.length),
        lease: key,
        create,
      })
    },
  )

  app.post<{ Body: { name: string; wait?: number; ttl?: number } }>(
    '/v1/locks',
    {
      onRequest: authenticated,
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 4096 },
            wait: { type: 'integer', minimum: 0, maximum: 3_600_000 },
            ttl: { type: 'integer', minimum: 1000, maximum: 600_000 },
          },
        },
      },
    },
    async (request, reply) => {
      // A client that gives up (Ctrl-C) leaves the line at the directory too.
      const gone = abortOnHangUp(reply)
      const { name, wait, ttl } = request.body
      return request.caller.directory.acquire(
        normaliseName(name),
        ttl ?? DEFAULT_TTL_MS,
        wait ?? DEFAULT_WAIT_MS,
        gone,
      )
    },
  )

  app.post<{ Body: { name: string; lease: string; ttl?: number } }>(
    '/v1/locks/renew',
    { onRequest: authenticated, schema: { body: leaseBody } },
    async (request) =>
      request.caller.directory.renew(
        normaliseName(request.body.name),
        request.body.lease,
        request.body.ttl ?? DEFAULT_TTL_MS,
      ),
  )

  app.post<{ Body: { name: string; lease: string } }>(
    '/v1/locks/release',
    { onRequest: authenticated, schema: { body: leaseBody } },
    async (request) => request.caller.directory.release(normaliseName(request.body.name), request.body.lease),
  )

  app.get<{ Querystring: { name: string; offline?: boolean } }>(
    '/v1/files',
    {
      onRequest: authenticated,
      schema: {
        querystring: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', maxLength: 4096 }, offline: { type: 'boolean' } },
        },
      },
    },
    async (request, reply) =>
      sendFile(service, request, reply, request.caller, normaliseName(request.query.name), {
        ...(request.query.offline === undefined ? {} : { offline: request.query.offline }),
      }),
  )

  // A version's block list, for clients that check each block as it arrives (dfs get).
  app.get<{ Querystring: { name: string; sha256: string } }>(
    '/v1/blocks',
    {
      onRequest: authenticated,
      schema: {
        querystring: {
          type: 'object',
          required: ['name', 'sha256'],
          properties: {
            name: { type: 'string', maxLength: 4096 },
            sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          },
        },
      },
    },
    async (request) =>
      service.blockList(request.caller, normaliseName(request.query.name), request.query.sha256),
  )

  // Changes to the namespace as they happen (server-sent events), for `dfs watch`.
  app.get<{ Querystring: { prefix?: string } }>(
    '/v1/events',
    {
      onRequest: authenticated,
      schema: {
        querystring: { type: 'object', properties: { prefix: { type: 'string', maxLength: 4096 } } },
      },
    },
    (request, reply) => {
      const prefix = normalisePrefix(request.query.prefix)
      // Only changes to names this user may read.
      const caller = request.caller
      streamEvents<ChangeEvent>(reply, (send) =>
        service.onChange(
          (event) => event.name.startsWith(prefix) && allowed(caller, event, 'read') && send(event),
        ),
      )
    },
  )

  app.get<{ Querystring: { name: string } }>(
    '/v1/versions',
    { onRequest: authenticated, schema: { querystring: nameQuery } },
    async (request) => request.caller.directory.history(normaliseName(request.query.name)),
  )

  app.post<{ Body: { name: string; version: number } }>(
    '/v1/restore',
    {
      onRequest: authenticated,
      schema: {
        body: {
          type: 'object',
          required: ['name', 'version'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 4096 }, version: { type: 'integer', minimum: 1 } },
        },
      },
    },
    async (request) =>
      request.caller.directory.restore(normaliseName(request.body.name), request.body.version),
  )

  // Join tokens, for the admin: the directory checks who asks.
  app.post<{ Body: NewTokenRequest }>(
    '/v1/tokens',
    {
      onRequest: authenticated,
      schema: {
        body: {
          type: 'object',
          required: ['role', 'ttlMs'],
          additionalProperties: false,
          properties: {
            role: { enum: ['fileserver', 'proxy', 'any'] },
            ttlMs: { type: 'integer', minimum: 0, maximum: 366 * 24 * 3600 * 1000 },
            uses: { type: 'integer', minimum: 1, maximum: 1_000_000 },
          },
        },
      },
    },
    async (request) => request.caller.directory.createToken(request.body),
  )
  app.get('/v1/tokens', { onRequest: authenticated }, async (request) =>
    request.caller.directory.listTokens(),
  )
  app.post<{ Body: { id: string } }>(
    '/v1/tokens/revoke',
    {
      onRequest: authenticated,
      schema: {
        body: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', pattern: '^[0-9a-f]{12}$' } },
        },
      },
    },
    async (request) => request.caller.directory.revokeToken(request.body.id),
  )

  // Nodes, for the admin: the directory checks who asks.
  const nodeId = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const
  app.get('/v1/nodes', { onRequest: authenticated }, async (request) => request.caller.directory.listNodes())
  app.post<{ Body: { id: number } }>(
    '/v1/nodes/drain',
    {
      onRequest: authenticated,
      schema: {
        body: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: nodeId } },
      },
    },
    async (request) => request.caller.directory.drainNode(request.body.id),
  )
  app.post<{ Body: NodeRemoval }>(
    '/v1/nodes/rm',
    {
      onRequest: authenticated,
      schema: {
        body: {
          type: 'object',
          required: ['role', 'id'],
          additionalProperties: false,
          properties: { role: { enum: ['fileserver', 'proxy'] }, id: nodeId, force: { type: 'boolean' } },
        },
      },
    },
    async (request) => request.caller.directory.removeNode(request.body),
  )

  app.get('/v1/repair/plan', { onRequest: authenticated }, async (request) =>
    request.caller.directory.repairPlan(),
  )
  app.post('/v1/repair/run', { onRequest: authenticated }, async (request) =>
    request.caller.directory.repairRun(),
  )

  for (const metric of proxyMetrics(service)) app.metrics.add(metric)

  app.get<{ Querystring: { name: string } }>(
    '/v1/stat',
    { onRequest: authenticated, schema: { querystring: nameQuery } },
    async (request) => request.caller.directory.locate(normaliseName(request.query.name)),
  )

  app.get<{ Querystring: ListQuery }>(
    '/v1/list',
    { onRequest: authenticated, schema: { querystring: listQuery } },
    async (request) => {
      const { prefix, after, limit, delimiter } = request.query
      return request.caller.directory.list({
        prefix: normalisePrefix(prefix),
        ...(after === undefined ? {} : { after }),
        ...(limit === undefined ? {} : { limit }),
        ...(delimiter === undefined ? {} : { delimiter }),
      })
    },
  )

  app.delete<{ Querystring: { name: string } }>(
    '/v1/files',
    { onRequest: authenticated, schema: { querystring: nameQuery } },
    async (request) => request.caller.directory.remove(normaliseName(request.query.name)),
  )

  app.get('/v1/status', { onRequest: authenticated }, async (request) => ({
    proxy: {
      id: service.id,
      user: request.caller.user,
      cache: service.cache.stats(),
      badCopiesReported: service.reports,
      changeFeed: options.changeFeed.state,
      // Reads served without asking the directory, and whether its callback promise holds now.
      trustedReads: service.trustedReads,
      promiseHolds: service.promise.holds(),
      // Which of the directories it was given the proxy uses: the one that answered last.
      directory: service.directory.url,
      directories: service.directory.urls,
    },
    ...(await request.caller.directory.status()),
  }))

  registerAccessRoutes(app, service, authenticated)
  registerDownloadRoutes(
    app,
    service,
    options.downloadTickets ?? new DownloadTickets(systemClock, systemRandom, ticketTtlMs()),
    authenticated,
  )
  if (options.webdav) registerWebDav(app, service)
  if (options.ui !== false) registerUi(app)
  return app
}

/** The bearer token of a request; DFS_AUTH without one. */
function bearer(request: FastifyRequest): string {
  const match = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(request.headers.authorization ?? '')
  if (!match?.[1]) throw new DfsError('DFS_AUTH', 'not logged in: run dfs login')
  return match[1]
}

/** The proxy's own figures for /metrics: its cache, the bytes uploaded through it, and the bad copies it reported. */
function proxyMetrics(service: ProxyService): RoleMetric[] {
  const stats = () => service.cache.stats()
  const counter = (name: string, help: string, value: () => number): RoleMetric => ({
    name,
    help,
    type: 'counter',
    value,
  })
  const gauge = (name: string, help: string, value: () => number): RoleMetric => ({
    name,
    help,
    type: 'gauge',
    value,
  })
  return [
    counter('dfs_proxy_cache_hits_total', 'Reads served from the cache', () => stats().hits),
    counter('dfs_proxy_cache_misses_total', 'Reads the cache could not serve', () => stats().misses),
    counter(
      'dfs_proxy_cache_bytes_served_total',
      'Bytes read out of the cache for clients',
      () => stats().bytesFromCache,
    ),
    counter(
      'dfs_proxy_cache_bytes_fetched_total',
      'Bytes fetched from file servers into the cache',
      () => stats().bytesFetched,
    ),
    counter(
      'dfs_proxy_cache_evictions_total',
      'Cache entries evicted to stay under its bound',
      () => stats().evictions,
    ),
    counter(
      'dfs_proxy_cache_corrupt_total',
      'Cache entries dropped because their bytes did not match',
      () => stats().corrupt,
    ),
    counter(
      'dfs_proxy_upload_bytes_total',
      'Bytes of files received from clients (API and WebDAV uploads), counted as they arrive',
      () => service.bytesUploaded,
    ),
    gauge('dfs_proxy_cache_entries', 'Blobs in the cache', () => stats().entries),
    gauge('dfs_proxy_cache_bytes', 'Bytes in the cache', () => stats().bytes),
    gauge('dfs_proxy_cache_max_bytes', "The cache's bound (--cache-size)", () => stats().maxBytes),
    counter(
      'dfs_proxy_bad_copies_reported_total',
      'Copies whose bytes did not match, reported to the directory',
      () => service.reports,
    ),
    counter(
      'dfs_proxy_trusted_reads_total',
      'Reads served without asking the directory (its callback promise held)',
      () => service.trustedReads,
    ),
  ]
}
