// A fetch that answers from a Fastify app in this process (app.inject), so a typed client (ky) can
// talk to a route-test app with no sockets: the proxy's DirectoryClient to a test directory.

import type { FastifyInstance } from 'fastify'
import type { Fetch } from '../../src/client/http.ts'

export function injectFetch(app: FastifyInstance, extraHeaders: Record<string, string> = {}): Fetch {
  return async (input, init) => {
    const request = new Request(input, init)
    const url = new URL(request.url)
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined
    const response = await app.inject({
      method: request.method as 'GET',
      url: `${url.pathname}${url.search}`,
      headers: { ...Object.fromEntries(request.headers), ...extraHeaders },
      ...(body ? { payload: body } : {}),
    })
    const headers = new Headers()
    for (const [key, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers.set(key, String(value))
    }
    const empty = [204, 304].includes(response.statusCode)
    return new Response(empty ? null : new Uint8Array(response.rawPayload), {
      status: response.statusCode,
      headers,
    })
  }
}
