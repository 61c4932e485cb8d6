// Answers, in the dfs error format, what Node refuses before Fastify sees a request: headers too
// slow or too large, bytes that are not HTTP, a connection that ends in the middle of a body. Node
// (and Fastify) would answer with an error body of their own; scripts and the CLI expect a DFS_* code.

import type { ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import { DfsError } from '../protocol/errors.ts'
import { timeSpan } from '../streams/idle-timeout.ts'
import type { RequestLimits } from './limits.ts'

// Required, not imported: an import of node:http reads every export it has, and the lazy ones for
// WebSocket load Node's built-in copy of undici, 9 MB more of a role's memory.
const { STATUS_CODES } = createRequire(import.meta.url)('node:http') as typeof import('node:http')

/** A client that never reads its answer may not keep the socket. */
const ANSWER_GRACE_MS = 5_000

export function answerClientErrors(limits: RequestLimits): (error: Error, socket: Socket) => void {
  return (error, socket) => {
    if (socket.destroyed) return
    const code = (error as NodeJS.ErrnoException).code
    // A reset connection cannot be answered; one already answered (and ended) needs nothing more.
    if (code === 'ECONNRESET' || !socket.writable) return void socket.destroy()
    // Node's own rule: never write into a response already under way.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (inFlight?.headersSent) return void socket.destroy()
    const answer = clientError(code, limits, inFlight)
    const grace = setTimeout(() => socket.destroy(), ANSWER_GRACE_MS).unref()
    socket.end(rawResponse(answer), () => {
      clearTimeout(grace)
      socket.destroy()
    })
  }
}

function clientError(code: string | undefined, limits: RequestLimits, inFlight?: ServerResponse | null) {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new DfsError(
        'DFS_TIMEOUT',
        `the request headers did not arrive within ${timeSpan(limits.headersTimeoutMs)}`,
      )
    case 'HPE_HEADER_OVERFLOW':
      return new DfsError(
        'DFS_HEADERS_TOO_LARGE',
        `the request headers are larger than ${limits.headerBytes} bytes`,
      )
    case 'HPE_INVALID_EOF_STATE': {
      const declared = inFlight?.req.headers['content-length']
      return new DfsError(
        'DFS_BAD_REQUEST',
        declared === undefined
          ? 'the connection ended in the middle of a request'
          : `the connection ended before the body's declared content-length of ${declared} bytes`,
      )
    }
    default:
      return new DfsError('DFS_BAD_REQUEST', `malformed HTTP request (${code ?? 'unknown error'})`)
  }
}

function rawResponse(error: DfsError): string {
  const body = JSON.stringify(error.toJSON())
  return [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    '',
    body,
  ].join('\r\n')
}
