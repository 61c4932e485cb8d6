// The one table of dfs error codes. Every failure a user or script can see carries one of these.

export const ERRORS = {
  DFS_BAD_NAME: 400,
  DFS_BAD_REQUEST: 400,
  DFS_AUTH: 401,
  DFS_FORBIDDEN: 403,
  /** A server presents a CA other than the one its token or the saved login pins. */
  DFS_CA_MISMATCH: 495,
  DFS_NOT_FOUND: 404,
  /** A request that stopped arriving: its headers, or its body, went quiet for too long. */
  DFS_TIMEOUT: 408,
  /** A method the resource does not take (WebDAV: MKCOL where something exists, a lock on a folder). */
  DFS_NOT_ALLOWED: 405,
  DFS_EXISTS: 409,
  DFS_CONFLICT: 409,
  /** A condition the request set does not hold (WebDAV: If, Overwrite: F, If-Match). */
  DFS_PRECONDITION: 412,
  /** A JSON body over its limit. */
  DFS_TOO_LARGE: 413,
  /** A body of the wrong kind: JSON routes take application/json, file bytes application/octet-stream. */
  DFS_UNSUPPORTED_MEDIA_TYPE: 415,
  /** A byte range (HTTP Range) that starts at or past the end of the file or blob. */
  DFS_BAD_RANGE: 416,
  DFS_LOCKED: 423,
  DFS_RATE_LIMITED: 429,
  DFS_HEADERS_TOO_LARGE: 431,
  DFS_CORRUPT: 502,
  /** A WebDAV COPY or MOVE whose Destination is not on this server's /dav/. */
  DFS_BAD_DESTINATION: 502,
  DFS_UNAVAILABLE: 503,
  DFS_NO_SPACE: 507,
  DFS_INTERNAL: 500,
  DFS_USAGE: 400,
} as const

export type ErrorCode = keyof typeof ERRORS

export class DfsError extends Error {
  readonly code: ErrorCode
  readonly status: number
  /** For DFS_RATE_LIMITED: when to try again (also the Retry-After header). */
  readonly retryAfterSeconds?: number

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options)
    this.name = 'DfsError'
    this.code = code
    this.status = ERRORS[code]
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds
  }

  toJSON(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message }
    if (this.retryAfterSeconds !== undefined) error.retryAfter = this.retryAfterSeconds
    return { error }
  }
}

/** The body of every error response on every route. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; retryAfter?: number }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value)
}

/** Rebuilds a DfsError from an error body received over HTTP, if it is one. */
export function fromErrorBody(body: unknown, fallbackStatus: number): DfsError {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const inner = (body as { error: unknown }).error
    if (typeof inner === 'object' && inner !== null) {
      const { code, message, retryAfter } = inner as {
        code?: unknown
        message?: unknown
        retryAfter?: unknown
      }
      if (isErrorCode(code)) {
        const retry = typeof retryAfter === 'number' ? { retryAfterSeconds: retryAfter } : {}
        return new DfsError(code, typeof message === 'string' ? message : code, retry)
      }
    }
  }
  return new DfsError(
    codeForStatus(fallbackStatus) ?? 'DFS_INTERNAL',
    `unexpected response (HTTP ${fallbackStatus})`,
  )
}

const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'DFS_AUTH',
  404: 'DFS_NOT_FOUND',
  408: 'DFS_TIMEOUT',
  413: 'DFS_TOO_LARGE',
  415: 'DFS_UNSUPPORTED_MEDIA_TYPE',
  416: 'DFS_BAD_RANGE',
  431: 'DFS_HEADERS_TOO_LARGE',
}

/** The code for an HTTP status that has one of its own (a 400 could be any of several). */
export function codeForStatus(status: number): ErrorCode | undefined {
  return BY_STATUS[status]
}
