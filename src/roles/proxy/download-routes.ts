// Downloads by ticket, for browsers (see download-tickets.ts): POST /v1/download-tickets with the
// bearer token names a file and gets a one-use link; GET /v1/download with that link streams the
// file as an attachment, which the browser writes to disk as it arrives. The bearer token is never
// in a URL, and the file never in the page's memory. The request log leaves out query strings, so
// a ticket is never logged either.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DfsError } from '../../protocol/errors.ts'
import { normaliseName } from '../../protocol/names.ts'
import type { DownloadTickets } from './download-tickets.ts'
import { sendFile } from './send-file.ts'
import type { ProxyService } from './service.ts'

const nameField = { type: 'string', maxLength: 4096 } as const

export function registerDownloadRoutes(
  app: FastifyInstance,
  service: ProxyService,
  tickets: DownloadTickets,
  authenticated: (request: FastifyRequest) => Promise<void>,
): void {
  app.post<{ Body: { name: string } }>(
    '/v1/download-tickets',
    {
      onRequest: authenticated,
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: nameField },
        },
      },
    },
    async (request, reply) => {
      const name = normaliseName(request.body.name)
      // A name that does not exist, or that this user may not read, is said now, in the page, rather
      // than as a failed download.
      await service.current(request.caller, name)
      const { ticket, expires } = tickets.issue(request.caller.token, request.caller.user, name)
      void reply.header('cache-control', 'no-store')
      return { name, expires, url: `/v1/download?${new URLSearchParams({ name, ticket }).toString()}` }
    },
  )

  app.get<{ Querystring: { name: string; ticket: string } }>(
    '/v1/download',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['name', 'ticket'],
          properties: { name: nameField, ticket: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } },
        },
      },
    },
    async (request, reply) => {
      const name = normaliseName(request.query.name)
      // A HEAD (Fastify answers one for every GET route) looks at the ticket without spending it.
      const { token, user } =
        request.method === 'HEAD'
          ? tickets.check(request.query.ticket, name)
          : tickets.redeem(request.query.ticket, name)
      // The session is checked again: one that ended since the ticket was issued downloads nothing.
      const caller = await service.authenticate(token, { client: request.ip })
      if (caller.user !== user)
        throw new DfsError('DFS_AUTH', 'this download link belongs to another session')
      void reply
        .header('content-disposition', attachment(name))
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .header('x-content-type-options', 'nosniff')
      return sendFile(service, request, reply, caller, name)
    },
  )
}

/** Content-Disposition naming the file by its last part: plain ASCII, and exactly (RFC 6266, 8187). */
export function attachment(name: string): string {
  const leaf = name.slice(name.lastIndexOf('/') + 1)
  const plain = leaf.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const exact = encodeURIComponent(leaf).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${plain}"; filename*=UTF-8''${exact}`
}
