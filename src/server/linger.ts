// An error answered before its request's body was read to the end: the rest of the body is read and
// dropped for a moment, so that the client reads the answer (closing on bytes still coming would
// reset the connection, and could take the answer with it), then the connection is cut if the body
// has still not ended. A body that ends in time leaves the connection open for the next request.

import type { IncomingMessage, ServerResponse } from 'node:http'

const LINGER_MS = 2_000

export function discardRestOfBody(request: IncomingMessage, response: ServerResponse): void {
  // A client that asked for `Connection: close` (the CLI does: it keeps no connections) would
  // otherwise have its socket closed by Node as soon as the answer is written, with its body still
  // coming: the reset that follows can discard the answer before the client reads it, which it
  // then reports as a closed connection. The socket stays open for the linger below instead.
  if (!response.headersSent) response.shouldKeepAlive = true
  response.once('finish', () => {
    request.resume()
    if (request.readableEnded) return
    const timer = setTimeout(() => request.destroy(), LINGER_MS).unref()
    request.once('end', () => clearTimeout(timer))
    request.once('close', () => clearTimeout(timer))
  })
}
