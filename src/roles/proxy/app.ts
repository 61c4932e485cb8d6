// The proxy's HTTP API for the CLI. Clients authenticate with a bearer token from /v1/login; they
// need no certificate of their own, only trust in the cluster CA.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { pipeline } from 'node:stream'
import { DfsError } from '../../protocol/errors.ts'
import { normaliseName, normalisePrefix } from '../../protocol/names.ts'
import { createApp, type AppOptions } from '../../server/app.ts'
import type { ProxyService } from './service.ts'

const nameQuery = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', maxLength: 4096 } },
} as const

declare module 'fastify' {
  interface FastifyRequest {
    user: string
  }
}

export function buildProxyApp(
  service: ProxyService,
  options: Omit<AppOptions, 'role' | 'requireClientCert'>,
): FastifyInstance {
  const app = createApp({ ...options, role: 'proxy', id: service.id, requireClientCert: false })
  app.decorateRequest('user', '')

  const authenticated = async (request: FastifyRequest) => {
    const header = request.headers.authorization ?? ''
    const match = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(header)
    if (!match?.[1]) throw new DfsError('DFS_AUTH', 'not logged in: run dfs login')
    request.user = await service.authenticate(match[1])
  }

  app.post<{ Body: { user: string; password: string } }>(
    '/v1/login',
    {
      schema: {
        body: {
          type: 'object',
          required: ['user', 'password'],
          additionalProperties: false,
          properties: {
            user: { type: 'string', maxLength: 64 },
            password: { type: 'string', maxLength: 1024 },
          },
        },
      },
    },
    async (request) => service.directory.login(request.body.user, request.body.password),
  )

  app.get('/v1/whoami', { preHandler: authenticated }, async (request) => ({
    user: request.user,
    proxy: service.id,
  }))

  app.put<{ Querystring: { name: string; force?: boolean; length?: number } }>(
    '/v1/files',
    {
      preHandler: authenticated,
      schema: {
        querystring: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', maxLength: 4096 },
            force: { type: 'boolean' },
            length: { type: 'integer', minimum: 0 },
          },
        },
        headers: { type: 'object', properties: { 'content-type': { const: 'application/octet-stream' } } },
      },
    },
    async (request) => {
      const declared = request.headers['content-length']
      const length = declared === undefined ? request.query.length : Number(declared)
      return service.upload(request.user, normaliseName(request.query.name), request.raw, {
        length,
        overwrite: request.query.force ?? false,
      })
    },
  )

  app.get<{ Querystring: { name: string } }>(
    '/v1/files',
    { preHandler: authenticated, schema: { querystring: nameQuery } },
    async (request, reply) => {
      const name = normaliseName(request.query.name)
      const etag = (sha256: string) => `"${sha256}"`
      const download = await service.download(name)
      const { file } = download
      void reply
        .header('etag', etag(file.sha256))
        .header('dfs-sha256', file.sha256)
        .header('dfs-version', file.version)
        .header('dfs-served-by', download.from.id)
      if (request.headers['if-none-match'] === etag(file.sha256)) {
        download.body.destroy()
        return reply.status(304).send()
      }
      void reply.header('content-length', file.size).type('application/octet-stream')
      reply.hijack()
      reply.raw.writeHead(200, reply.getHeaders() as Record<string, string>)
      // A bad byte found at the end cuts the connection: the client sees a short, failed transfer.
      pipeline(download.body, reply.raw, (error) => {
        if (error) request.log.warn({ err: error }, 'download cut')
      })
    },
  )

  app.get<{ Querystring: { name: string } }>(
    '/v1/stat',
    { preHandler: authenticated, schema: { querystring: nameQuery } },
    async (request) => service.directory.locate(normaliseName(request.query.name)),
  )

  app.get<{ Querystring: { prefix?: string } }>(
    '/v1/list',
    {
      preHandler: authenticated,
      schema: {
        querystring: { type: 'object', properties: { prefix: { type: 'string', maxLength: 4096 } } },
      },
    },
    async (request) => service.directory.list(normalisePrefix(request.query.prefix)),
  )

  app.delete<{ Querystring: { name: string } }>(
    '/v1/files',
    { preHandler: authenticated, schema: { querystring: nameQuery } },
    async (request) => service.directory.remove(normaliseName(request.query.name)),
  )

  app.get('/v1/status', { preHandler: authenticated }, async (request) => ({
    proxy: { id: service.id, user: request.user },
    ...(await service.directory.status()),
  }))

  return app
}
