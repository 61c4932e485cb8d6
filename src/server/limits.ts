// How much and how long one request may take on every role. Time is bounded by progress, never in
// total: a 10 GiB upload may take hours as long as its bytes keep coming.

import { DfsError } from '../protocol/errors.ts'

export interface RequestLimits {
  /** A request's headers (and, over TLS, the handshake before them) must arrive within this. */
  headersTimeoutMs: number
  /**
   * A body that sends nothing this long while the server waits for it is cut (DFS_TIMEOUT). Longer
   * than a file server's 30 s bound on a stalled replica, so that a primary drops the stalled replica
   * before the healthy ones, waiting on the primary meanwhile, give up on it.
   */
  bodyTimeoutMs: number
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number
  maxRequestsPerSocket: number
  /** Connections beyond this are closed as they arrive. */
  maxConnections: number
  /** A JSON body's size (file bytes are streamed, and bounded only by time). */
  jsonBytes: number
  /** How deeply a JSON body may nest arrays and objects; no route needs more than a few levels. */
  jsonDepth: number
  /** All of a request's headers together. */
  headerBytes: number
}

export const DEFAULT_LIMITS: RequestLimits = {
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 15_000,
  maxRequestsPerSocket: 1000,
  maxConnections: 1024,
  jsonBytes: 1024 * 1024,
  jsonDepth: 32,
  headerBytes: 16 * 1024,
}

/** The timeouts an operator (or a test that needs short ones) may set in the environment. */
const FROM_ENV = {
  DFS_HEADERS_TIMEOUT_MS: 'headersTimeoutMs',
  DFS_BODY_TIMEOUT_MS: 'bodyTimeoutMs',
  DFS_KEEP_ALIVE_TIMEOUT_MS: 'keepAliveTimeoutMs',
} as const satisfies Record<string, keyof RequestLimits>

/** The defaults, with any timeout the environment sets, then any limit given in code. */
export function requestLimits(
  given: Partial<RequestLimits> = {},
  env: NodeJS.ProcessEnv = process.env,
): RequestLimits {
  const limits = { ...DEFAULT_LIMITS }
  for (const [variable, key] of Object.entries(FROM_ENV)) {
    const value = env[variable]
    if (value === undefined || value === '') continue
    if (!/^[1-9]\d*$/.test(value)) {
      throw new DfsError('DFS_USAGE', `${variable} must be a positive number of milliseconds, not ${value}`)
    }
    limits[key] = Number(value)
  }
  return { ...limits, ...given }
}
