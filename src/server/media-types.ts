// Which kind of body a route takes, read from its schema: a route with a body schema takes
// application/json; a route whose headers schema fixes the content-type (file bytes) takes exactly
// that. A body of another kind is refused before a byte of it is read.

import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyRequest } from 'fastify'
import { DfsError } from '../protocol/errors.ts'

/** Refuses a request whose body is not of the kind its route takes. */
export function checkMediaType(request: FastifyRequest): void {
  const wanted = mediaTypeOf(request.routeOptions.schema)
  if (wanted === undefined || !hasBody(request.headers)) return
  const given = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
  if (given !== wanted) {
    throw new DfsError(
      'DFS_UNSUPPORTED_MEDIA_TYPE',
      `${request.method} ${request.url.split('?')[0]} takes ${wanted}, not ${given || 'a body without a content-type'}`,
    )
  }
}

/** Fastify's rule: a request has a body if it is chunked or says it has bytes. */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

function mediaTypeOf(schema: { body?: unknown; headers?: unknown } | undefined): string | undefined {
  if (!schema) return undefined
  const fixed = (schema.headers as { properties?: Record<string, { const?: unknown }> } | undefined)
    ?.properties?.['content-type']?.const
  if (typeof fixed === 'string') return fixed
  return schema.body === undefined ? undefined : 'application/json'
}
