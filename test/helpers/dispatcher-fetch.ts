// ky over undici's dispatcher API: the nodes' own JSON calls go through json-calls.ts instead, and this
// is what a test runs ky on beside them, to show both make the same requests and fail alike.

import { request, type Dispatcher } from 'undici'
import { requestBody, toResponse, type Fetch } from '../../src/client/http.ts'

/** ky's transport over undici's dispatcher API (mutual TLS, any port). */
export function dispatcherFetch(dispatcher: Dispatcher): Fetch {
  return async (input, init) => {
    const req = new Request(input, init)
    const response = await request(req.url, {
      method: req.method as Dispatcher.HttpMethod,
      headers: Object.fromEntries(req.headers),
      body: await requestBody(req),
      signal: req.signal,
      dispatcher,
    })
    return toResponse(response.statusCode, response.headers, response.body)
  }
}
