// The CLI's JSON calls: ky, over a `fetch` that is not WHATWG fetch (which refuses the "bad ports",
// 5060 among them): node:https pinned to the cluster CA (httpsFetch). The nodes make theirs without
// ky (json-calls.ts), and failures of both map to DfsError alike (call-errors.ts). File bytes never
// go through ky: its retry clone buffers whole bodies.

import ky, { type KyInstance } from 'ky'
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { JSON_TIMEOUT_MS } from './timeouts.ts'

/** What ky calls to send a request. */
export type Fetch = (input: Request | URL | string, init?: RequestInit) => Promise<Response>

/** A ky instance bound to one base URL and one transport; JSON only. */
export function jsonClient(baseUrl: string, fetch: Fetch, headers: Record<string, string> = {}): KyInstance {
  return ky.create({ baseUrl, headers, retry: 0, timeout: JSON_TIMEOUT_MS, fetch })
}

/** A JSON request body, read whole (bounded by the route schemas; never file bytes). */
export async function requestBody(req: Request): Promise<Buffer | undefined> {
  return req.body ? Buffer.from(await req.arrayBuffer()) : undefined
}

const NO_BODY = new Set([101, 204, 205, 304])

/** A fetch Response around an answer received by another HTTP client; the body streams. */
export function toResponse(
  status: number,
  raw: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  body: Readable,
): Response {
  const headers = new Headers()
  for (const [key, value] of Object.entries(raw)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value])
      headers.append(key, one)
  }
  if (NO_BODY.has(status)) {
    body.resume()
    return new Response(null, { status, headers })
  }
  return new Response(Readable.toWeb(body) as ReadableStream, { status, headers })
}
