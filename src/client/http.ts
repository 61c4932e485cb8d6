// JSON calls between dfs roles and from the CLI: ky, over a `fetch` that is not WHATWG fetch (which
// refuses the "bad ports", 5060 among them): servers give it undici's dispatcher API with their
// mutual-TLS identity (dispatcherFetch), the CLI node:https pinned to the cluster CA (httpsFetch).
// One mapping from transport and HTTP failures to DfsError. File bytes never go through ky: its
// retry clone buffers whole bodies.

import ky, { HTTPError, type KyInstance } from 'ky'
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { DfsError, fromErrorBody } from '../protocol/errors.ts'

/** What ky calls to send a request. */
export type Fetch = (input: Request | URL | string, init?: RequestInit) => Promise<Response>

/** How long a JSON call waits for its answer unless it says otherwise. */
export const JSON_TIMEOUT_MS = 30_000

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

/** Performs a ky call and returns its JSON, turning every failure into a DfsError. */
export async function call<T>(promise: () => Promise<T>, what: string): Promise<T> {
  try {
    return await promise()
  } catch (error) {
    throw toDfsError(error, what)
  }
}

export function toDfsError(error: unknown, what: string): DfsError {
  if (error instanceof DfsError) return error
  // ky has already read and parsed the error body into `data`.
  if (error instanceof HTTPError) return fromErrorBody(error.data, error.response.status)
  return networkFailure(what, error)
}

/** TLS errors that mean the server's certificate is not from the CA we trust. */
export const UNTRUSTED: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
])

/**
 * A call that did not get an answer: DFS_UNAVAILABLE (try again later), or DFS_CA_MISMATCH when the
 * server's certificate is not signed by the cluster CA we pinned (another cluster, or one rebuilt),
 * which waiting will not fix. The message names the node by `what` (file server 3) and says what
 * happened in words; the address, the URL (`where`) and the socket error stay in the cause, for the log.
 * A user never sees a node's internal address.
 */
export function networkFailure(what: string, error: unknown, where?: string): DfsError {
  if (error instanceof DfsError) return error
  const cause = where === undefined ? error : new Error(where, { cause: error })
  const codes = causeCodes(error)
  const untrusted = codes.find((code) => UNTRUSTED.has(code))
  if (untrusted) {
    return new DfsError(
      'DFS_CA_MISMATCH',
      `${what} presents a certificate the cluster CA you trust did not sign (${untrusted}): another or a rebuilt cluster? Check its fingerprint, then log in again with --ca-fingerprint`,
      { cause },
    )
  }
  const how = isConnectFailure(error) ? 'unreachable' : 'failed'
  return new DfsError('DFS_UNAVAILABLE', `${what} ${how} (${inWords(error, codes)})`, { cause })
}

/** Transport failures in words a user can act on. */
const IN_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'timed out connecting',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'the answer stopped coming',
  UND_ERR_ABORTED: 'cancelled',
  ABORT_ERR: 'cancelled',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'the body did not match its declared length',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for another host',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  EPROTO: 'TLS failed',
}

function inWords(error: unknown, codes: string[]): string {
  for (const code of codes) {
    const words = IN_WORDS[code]
    if (words) return words
  }
  const name = error instanceof Error ? error.name : ''
  // ky's own timeout, whose message is the URL it gave up on.
  if (name === 'TimeoutError') return 'no answer in time'
  if (name === 'AbortError') return 'cancelled'
  return codes[0] ?? 'network error'
}

/** The error codes along a failure's chain of causes (fetch wraps the socket error, ky the fetch's). */
export function causeCodes(error: unknown): string[] {
  const codes: string[] = []
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code: unknown = (current as NodeJS.ErrnoException).code
    // A DOMException's code is a number (a cancelled fetch's AbortError is 20): not a socket's.
    if (typeof code === 'string' && code !== '') codes.push(code)
    current = current.cause
  }
  return codes
}

/** Socket errors that mean no connection was made: nothing was sent, so trying elsewhere is safe. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
])

/** Whether a failed call never reached its server (refused, unroutable, or timed out connecting). */
export function isConnectFailure(error: unknown): boolean {
  return causeCodes(error).some((code) => NOT_CONNECTED.has(code))
}

/** Finds the useful part of a fetch failure (fetch wraps the socket error in 'fetch failed'). */
export function describeNetworkError(error: Error): string {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code
    if (code) return `${code} ${current.message}`.trim()
    current = current.cause
  }
  return error.message
}

/** Query parameters without the ones left undefined (an audit query's optional filters). */
export function definedOnly(query: object): Record<string, string | number> {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined)) as Record<
    string,
    string | number
  >
}
