// Transport failures as DfsError, for every HTTP client of dfs (the CLI's ky calls and streams, the
// nodes' agent), all of them over node:https: DFS_UNAVAILABLE or DFS_CA_MISMATCH, in words a user can act on. No HTTP client here, so the
// CLI's file transfers load none.

import { DfsError } from '../protocol/errors.ts'

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
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ERR_BODY_TIMEOUT: 'the answer stopped coming',
  ERR_ANSWER_TOO_LARGE: 'an answer too large',
  ABORT_ERR: 'cancelled',
  ERR_BODY_LENGTH: 'the body did not match its declared length',
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

/** The error codes along a failure's chain of causes (a caller may wrap the socket's error). */
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
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ETIMEDOUT'])

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
