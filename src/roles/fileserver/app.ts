// The file server's HTTP API: primary writes, replica writes, blob reads (whole, or one byte range).
// Callers are dfs nodes with certificates from the cluster CA (mutual TLS).

import type { FastifyInstance } from 'fastify'
import { CLIENT_ADDRESS_SCHEMA } from '../../protocol/client-address.ts'
import { DfsError } from '../../protocol/errors.ts'
import { LEASE_KEY_PATTERN } from '../../protocol/lease-key.ts'
import { normaliseName } from '../../protocol/names.ts'
import { createApp, isHangUp, type AccessTable, type AppOptions } from '../../server/app.ts'
import { contentRange, requestedRange } from '../../protocol/byte-range.ts'
import type { ByteRange } from '../../streams/block-check.ts'
import { declaredLength, uploadBody } from '../../server/upload-body.ts'
import { sendFileRange, type OpenedFile } from '../../streams/reused-buffers.ts'
import type { FileServerService, ReplicaTarget } from './service.ts'

const octet = { 'content-type': { const: 'application/octet-stream' } }

/** Writes come from proxies (as primary) or file servers (as replica, or repair); copies are ordered by the directory. */
const ACCESS: AccessTable = {
  'PUT /v1/blobs': ['proxy'],
  'PUT /v1/replica': ['fileserver'],
  'POST /v1/copy': ['directory'],
  'GET /v1/blobs/:sha256': ['proxy', 'fileserver'],
}

export interface FileServerAppOptions extends Omit<AppOptions, 'role' | 'nodes'> {
  /** Certificates of removed nodes (the directory's list, from the last heartbeat). */
  revoked?: (serial: string) => boolean
}

export function buildFileServerApp(
  service: FileServerService,
  options: FileServerAppOptions,
): FastifyInstance {
  const { revoked, ...rest } = options
  const app = createApp({
    ...rest,
    role: 'fileserver',
    id: service.id,
    // 'optional': the handshake lets a caller without a certificate through to /healthz and /metrics;
    // every other route wants one from the cluster CA (the access table).
    nodes: { access: ACCESS, certificates: 'optional', ...(revoked ? { revoked } : {}) },
  })

  app.put<{
    Querystring: {
      name: string
      expectedVersion: number
      writer: string
      replicas?: string
      length?: number
      lease?: string
      client?: string
    }
  }>(
    '/v1/blobs',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['name', 'expectedVersion', 'writer'],
          properties: {
            name: { type: 'string', maxLength: 4096 },
            expectedVersion: { type: 'integer', minimum: 0 },
            writer: { type: 'string', maxLength: 64 },
            replicas: { type: 'string', maxLength: 8192 },
            length: { type: 'integer', minimum: 0 },
            lease: { type: 'string', maxLength: 80, pattern: LEASE_KEY_PATTERN },
            client: CLIENT_ADDRESS_SCHEMA,
          },
        },
        headers: { type: 'object', properties: octet },
      },
    },
    async (request) => {
      const { query } = request
      return service.acceptPrimary(uploadBody(request), {
        name: normaliseName(query.name),
        expectedVersion: query.expectedVersion,
        writer: query.writer,
        replicas: parseReplicas(query.replicas),
        length: declaredLength(request, query.length),
        lease: query.lease,
        client: query.client,
        // The access table lets only proxies send this: the certificate says which.
        proxy: request.node?.role === 'proxy' ? request.node.id : undefined,
      })
    },
  )

  app.put<{ Querystring: { length?: number } }>(
    '/v1/replica',
    {
      schema: {
        querystring: { type: 'object', properties: { length: { type: 'integer', minimum: 0 } } },
        headers: { type: 'object', properties: octet },
      },
    },
    async (request) =>
      service.acceptReplica(uploadBody(request), declaredLength(request, request.query.length)),
  )

  app.post<{ Body: { sha256: string; target: ReplicaTarget } }>(
    '/v1/copy',
    {
      schema: {
        body: {
          type: 'object',
          required: ['sha256', 'target'],
          additionalProperties: false,
          properties: {
            sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            target: {
              type: 'object',
              required: ['id', 'url'],
              additionalProperties: false,
              properties: {
                id: { type: 'integer', minimum: 1 },
                url: { type: 'string', pattern: '^https://', maxLength: 512 },
              },
            },
          },
        },
      },
    },
    async (request) => service.copyTo(request.body.sha256, request.body.target),
  )

  app.get<{ Params: { sha256: string } }>(
    '/v1/blobs/:sha256',
    {
      schema: {
        params: {
          type: 'object',
          required: ['sha256'],
          properties: { sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
        },
      },
    },
    async (request, reply) => {
      const { sha256 } = request.params
      const size = await service.store.size(sha256)
      if (size === undefined)
        throw new DfsError('DFS_NOT_FOUND', `no blob ${sha256} on file server ${service.id}`)
      const etag = `"${sha256}"`
      void reply.header('etag', etag).header('cache-control', 'public, max-age=31536000, immutable')
      if (request.headers['if-none-match'] === etag) return reply.status(304).send()
      // A blob never changes under its name, so If-Range can only fail for another blob's etag.
      const ifRange = request.headers['if-range']
      const range: ByteRange | undefined =
        ifRange === undefined || ifRange === etag ? requestedRange(request.headers.range, size) : undefined
      void reply.header('accept-ranges', 'bytes').type('application/octet-stream')
      if (range) void reply.status(206).header('content-range', contentRange(range, size))
      const span = range ?? { start: 0, end: size }
      void reply.header('content-length', span.end - span.start)
      let file: OpenedFile
      try {
        file = await service.store.openRead(sha256)
      } catch (error) {
        // Removed since it was sized (quarantined by a scrub, say).
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          throw new DfsError('DFS_NOT_FOUND', `no blob ${sha256} on file server ${service.id}`)
        throw error
      }
      reply.hijack()
      reply.raw.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>)
      // A HEAD gets the headers only (none is let in today: nodes have no use for one).
      if (request.method === 'HEAD') {
        file.close().catch(() => undefined)
        return void reply.raw.end()
      }
      // Sent from buffers used again and again: a blob read makes no garbage per chunk. A read that
      // fails, or a file shorter than its size, cuts the reply: the reader sees a short body.
      sendFileRange(file, span, reply.raw)
        .then(
          () => reply.raw.end(),
          (error: Error) => {
            if (isHangUp(error) || reply.raw.destroyed)
              request.log.debug(`blob read cut: the reader went away (${error.message})`)
            else request.log.warn({ err: error }, 'blob read cut')
            reply.raw.destroy()
          },
        )
        // Read only: a close that fails loses nothing.
        .finally(() => file.close().catch(() => undefined))
    },
  )

  return app
}

function parseReplicas(raw: string | undefined): ReplicaTarget[] {
  if (raw === undefined || raw === '') return []
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new DfsError('DFS_BAD_REQUEST', 'replicas must be JSON')
  }
  if (!Array.isArray(parsed) || parsed.length > 15)
    throw new DfsError('DFS_BAD_REQUEST', 'replicas must be a list')
  return parsed.map((item: unknown) => {
    const { id, url } = (item ?? {}) as { id?: unknown; url?: unknown }
    if (!Number.isInteger(id) || typeof url !== 'string' || !url.startsWith('https://')) {
      throw new DfsError('DFS_BAD_REQUEST', 'each replica needs an id and an https url')
    }
    return { id: id as number, url }
  })
}
