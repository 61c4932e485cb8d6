// The body of a file-bytes route: the request's bytes as a stream, bounded by the body timeout (see
// createApp), and the length its sender declared for it.

import { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { DfsError } from '../protocol/errors.ts'
import { hasBody } from './media-types.ts'

export function uploadBody(request: FastifyRequest): Readable {
  if (request.body instanceof Readable) return request.body
  // No content-type and no bytes: an empty file.
  if (!hasBody(request.headers)) return Readable.from([])
  throw new DfsError('DFS_UNSUPPORTED_MEDIA_TYPE', 'file bytes are sent as application/octet-stream')
}

/** The length from content-length, or ?length= for a chunked body; when both are given they must agree. */
export function declaredLength(request: FastifyRequest, query: number | undefined): number | undefined {
  const header = request.headers['content-length']
  const fromHeader = header === undefined ? undefined : Number(header)
  if (fromHeader !== undefined && query !== undefined && fromHeader !== query) {
    throw new DfsError(
      'DFS_BAD_REQUEST',
      `length=${query} does not match the content-length of ${fromHeader}`,
    )
  }
  return fromHeader ?? query
}
