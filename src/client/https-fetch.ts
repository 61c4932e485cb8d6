// ky's transport in the CLI: node:https trusting only the cluster CA, to any port (fetch refuses the
// "bad ports"). Loaded with ky, on a command's first JSON call: file transfers need neither.

import { request } from 'node:https'
import { requestBody, toResponse, type Fetch } from './http.ts'

/** A `fetch` for ky over node:https that trusts only `ca`. */
export function httpsFetch(ca: string): Fetch {
  return async (input, init) => {
    const req = new Request(input, init)
    const body = await requestBody(req)
    return new Promise<Response>((resolve, reject) => {
      const outgoing = request(req.url, {
        method: req.method,
        headers: Object.fromEntries(req.headers),
        ca,
        agent: false,
        signal: req.signal,
      })
      outgoing.once('response', (incoming) =>
        resolve(toResponse(incoming.statusCode ?? 500, incoming.headers, incoming)),
      )
      outgoing.once('error', reject)
      outgoing.end(body)
    })
  }
}
