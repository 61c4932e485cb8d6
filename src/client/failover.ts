// Several directories serving one cluster (one shared database): which one a node talks to, and when
// a call moves on to the next. A node's DirectoryClient (its own calls and its users') and its change
// feed share one DirectoryFailover, so they agree on the directory in use: the one that answered
// last. A call whose directory is unreachable or going away tries the next one, round-robin, with a
// short backoff once every one has failed, for a bounded time after its first failure; then it gives
// the usual DFS_UNAVAILABLE, naming "directory" and never its URL (the cause keeps it, for the log).

import { setTimeout as sleep } from 'node:timers/promises'
import { answerOf, isCallTimeout } from './call-errors.ts'
import { DfsError, fromErrorBody } from '../protocol/errors.ts'
import type { Clock } from '../server/clock.ts'
import { reason, type Logger } from '../server/logger.ts'
import { causeCodes, isConnectFailure, networkFailure, UNTRUSTED } from './network-failure.ts'

/** How failures name the directory: users of a proxy are not shown its internal address (the log is). */
export const DIRECTORY = 'directory'

/** How long a call keeps trying after its first failure, across all the directories. */
export const DEFAULT_FAILOVER_MS = 15_000

/**
 * Whether a call may go again to another directory after its connection broke with the request
 * perhaps delivered: 'idempotent' calls (reads, settings, compare-and-set commits, keyed leases) may;
 * 'once' calls (those that create or remove something and would be refused or done twice the second
 * time) fail at once. A request that surely never reached a directory is always sent again.
 */
export type Resend = 'idempotent' | 'once'

/**
 * What a failed attempt means: 'unsent' (no connection, no TLS, or a directory that turned it away
 * unread), 'maybe-sent' (the connection broke after the request went out, or no answer came in
 * time), 'final' (the directory answered, or the caller cancelled: no other directory is asked).
 */
export type Failure = 'unsent' | 'maybe-sent' | 'final'

/** Name lookups and TLS handshakes that failed: no byte of the request was sent. */
const NEVER_SENT = new Set([
  ...UNTRUSTED,
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/** Connections that broke once open: the request may have been read, and acted on. */
const BROKEN = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_BODY_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'EPROTO',
])

/** What the directory answers a lease waiter when it shuts down: the waiter holds nothing. */
const SHUTTING_DOWN = 'the directory is shutting down'

export function classify(error: unknown): Failure {
  const answer = answerOf(error)
  if (answer) return classifyAnswer(answer.status, answer.data)
  if (error instanceof DfsError) return 'final'
  // No answer in the call's time: a directory that hangs is going away too.
  if (isCallTimeout(error)) return 'maybe-sent'
  const codes = causeCodes(error)
  if (isConnectFailure(error) || codes.some((code) => NEVER_SENT.has(code))) return 'unsent'
  if (codes.some((code) => BROKEN.has(code) || code.startsWith('ERR_SSL_'))) return 'maybe-sent'
  return 'final'
}

/**
 * An HTTP error answer. A 503 without a dfs error body is a server turning requests away unread (a
 * Fastify server closing answers so, as do load balancers); a 502 or 504 without one, a gateway whose
 * upstream failed, perhaps after taking the request. With a dfs error body it is the directory's own
 * answer (DFS_CORRUPT is a 502, too few live file servers a 503) and would be the same elsewhere,
 * except a lease waiter's "shutting down", which holds nothing and may wait in line elsewhere.
 */
function classifyAnswer(status: number, body: unknown): Failure {
  if (status !== 502 && status !== 503 && status !== 504) return 'final'
  const inner = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined
  const error =
    typeof inner === 'object' && inner !== null ? (inner as { code?: unknown; message?: unknown }) : {}
  if (typeof error.code !== 'string' || !error.code.startsWith('DFS_'))
    return status === 503 ? 'unsent' : 'maybe-sent'
  return error.code === 'DFS_UNAVAILABLE' && error.message === SHUTTING_DOWN ? 'unsent' : 'final'
}

/** The error a call gives up with: the directory's own answer, or one naming "directory", no URL. */
export function directoryError(error: unknown, url: string): DfsError {
  if (error instanceof DfsError) return error
  const answer = answerOf(error)
  if (answer) {
    const { status, data } = answer
    if (classifyAnswer(status, data) === 'final') return fromErrorBody(data, status)
    const known = fromErrorBody(data, status)
    return known.code === 'DFS_UNAVAILABLE'
      ? known
      : new DfsError('DFS_UNAVAILABLE', `${DIRECTORY} unavailable (HTTP ${status})`, {
          cause: new Error(url, { cause: error }),
        })
  }
  return networkFailure(DIRECTORY, error, url)
}

/** A failure in words for the log: what a user would be told, or the caller's own reason. */
function describe(error: unknown): string {
  const known = answerOf(error) !== undefined || causeCodes(error).length > 0
  return reason(known ? directoryError(error, '') : error)
}

export interface FailoverOptions {
  /** How long a call keeps trying after its first failure (default 15 s). One directory is not retried. */
  failoverMs?: number
  /** Where moving from one directory to another is logged (the log may show URLs). */
  log?: Logger
  clock?: Clock
}

/** Pauses between rounds in which every directory failed: short, since another is likely up. */
const BACKOFF_MS = [250, 500, 1000, 2000]

export class DirectoryFailover {
  readonly urls: readonly string[]
  private readonly budgetMs: number
  private readonly log?: Logger
  private readonly clock: Clock
  private index = 0
  /** Moved on since a directory last answered: the next answer is logged. */
  private moved = false
  /** A call gave up with every directory failing, and none has answered since: calls try each once. */
  private allDown = false

  constructor(urls: readonly string[], options: FailoverOptions = {}) {
    if (urls.length === 0) throw new DfsError('DFS_USAGE', 'no directory URL given')
    this.urls = [...urls]
    // A single directory is not retried: there is nothing to fail over to, and the callers that must
    // ride out its restarts (the heartbeat, the change feed, joining) have loops of their own.
    this.budgetMs = urls.length > 1 ? (options.failoverMs ?? DEFAULT_FAILOVER_MS) : 0
    this.log = options.log
    this.clock = options.clock ?? { now: () => Date.now() }
  }

  /** The directory in use: the one that answered last, or the next to try since it was lost. */
  get current(): string {
    return this.urls[this.index]!
  }

  /** Which directory to try now. */
  using(): { index: number; url: string } {
    return { index: this.index, url: this.urls[this.index]! }
  }

  /** Directory `index` failed: unless another call moved on already, the next one is in use. */
  lost(index: number, error: unknown): void {
    if (index !== this.index || this.urls.length === 1) return
    this.index = (index + 1) % this.urls.length
    // Said once, when the directory in use is lost; not again at each directory tried after it.
    if (!this.moved) {
      this.log?.warn(
        { err: error },
        `directory ${this.urls[index]} lost: ${describe(error)}; trying ${this.current}`,
      )
    }
    this.moved = true
  }

  /** Directory `index` answered (with an error of its own, perhaps): it is up. */
  answered(index: number): void {
    this.allDown = false
    if (index !== this.index || !this.moved) return
    this.moved = false
    this.log?.warn({}, `directory ${this.urls[index]} answered; using it`)
  }

  /**
   * Runs `attempt` against the directory in use and, while they fail in a way that means they are
   * unreachable or going away, against the next ones: see Resend for which calls go again after a
   * connection that broke. Throws a DfsError (directoryError) when it gives up.
   */
  async call<T>(
    attempt: (index: number) => Promise<T>,
    options: { resend: Resend; signal?: AbortSignal },
  ): Promise<T> {
    let deadline: number | undefined
    let failedThisRound = 0
    for (let rounds = 0; ;) {
      const { index, url } = this.using()
      try {
        const result = await attempt(index)
        this.answered(index)
        return result
      } catch (error) {
        const failure = classify(error)
        if (failure === 'final') {
          if (answerOf(error)) this.answered(index)
          throw directoryError(error, url)
        }
        this.lost(index, error)
        if (failure === 'maybe-sent' && options.resend === 'once') throw directoryError(error, url)
        const now = this.clock.now()
        deadline ??= now + this.budgetMs
        if (++failedThisRound < this.urls.length) continue
        failedThisRound = 0
        if (this.allDown || now >= deadline) {
          this.allDown = true
          throw directoryError(error, url)
        }
        const pause = Math.min(BACKOFF_MS[Math.min(rounds++, BACKOFF_MS.length - 1)]!, deadline - now)
        try {
          await sleep(pause, undefined, { signal: options.signal })
        } catch {
          throw directoryError(error, url)
        }
      }
    }
  }
}
