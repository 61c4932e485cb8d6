// Download tickets: how a browser downloads a file straight to disk without the bearer token ever
// being in a URL. The page asks for a ticket with its token (POST /v1/downloads), then navigates to
// GET /v1/download?name=N&ticket=T, which the browser streams to a file as any download. A ticket is
// 32 random bytes, good for one use within a minute, for one name, on behalf of the session that
// asked for it; it lives only in this proxy's memory. A URL that leaks (history, a log, a shoulder)
// is spent or about to expire, and was never worth more than that one file.

import { DfsError } from '../../protocol/errors.ts'
import type { Clock, Random } from '../../server/clock.ts'

export const DEFAULT_TICKET_TTL_MS = 60_000
/** Outstanding tickets at most: each is a few hundred bytes, and a page asks for one per click. */
const MAX_TICKETS = 10_000

interface Ticket {
  /** The session that asked for it: checked again when the ticket is used. */
  token: string
  user: string
  name: string
  expires: number
}

export interface IssuedTicket {
  ticket: string
  expires: number
}

export class DownloadTickets {
  // Insertion order is expiry order (one TTL for all), so the expired are always at the front.
  private readonly tickets = new Map<string, Ticket>()

  private readonly clock: Clock
  private readonly random: Random
  readonly ttlMs: number

  constructor(clock: Clock, random: Random, ttlMs: number = DEFAULT_TICKET_TTL_MS) {
    this.clock = clock
    this.random = random
    this.ttlMs = ttlMs
  }

  issue(token: string, user: string, name: string): IssuedTicket {
    this.prune()
    if (this.tickets.size >= MAX_TICKETS)
      throw new DfsError('DFS_RATE_LIMITED', 'too many download tickets outstanding: try again shortly', {
        retryAfterSeconds: Math.ceil(this.ttlMs / 1000),
      })
    const ticket = this.random.token(32)
    const expires = this.clock.now() + this.ttlMs
    this.tickets.set(ticket, { token, user, name, expires })
    return { ticket, expires }
  }

  /**
   * The session a ticket was issued to, if it is for `name` and still good. A ticket is spent by
   * its first use, whatever the outcome: one presented for another name is gone too.
   */
  redeem(ticket: string, name: string): { token: string; user: string } {
    const found = this.check(ticket, name)
    this.tickets.delete(ticket)
    return found
  }

  /** As redeem, without spending the ticket: for a HEAD, which a download tool may send first. */
  check(ticket: string, name: string): { token: string; user: string } {
    const found = this.tickets.get(ticket)
    if (!found || found.expires <= this.clock.now()) {
      this.tickets.delete(ticket)
      throw new DfsError(
        'DFS_AUTH',
        'this download link was used already, has expired or was never issued: download again from the page',
      )
    }
    if (found.name !== name) {
      // Presented for another name, it is spent all the same.
      this.tickets.delete(ticket)
      throw new DfsError('DFS_FORBIDDEN', 'this download link is for another file')
    }
    return { token: found.token, user: found.user }
  }

  /** Tickets outstanding (for tests and /v1/status). */
  get size(): number {
    this.prune()
    return this.tickets.size
  }

  private prune(): void {
    const now = this.clock.now()
    for (const [key, ticket] of this.tickets) {
      if (ticket.expires > now) break
      this.tickets.delete(key)
    }
  }
}

/** The TTL from DFS_DOWNLOAD_TICKET_MS (for tests that cannot wait a minute), else the default. */
export function ticketTtlMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.DFS_DOWNLOAD_TICKET_MS
  if (value === undefined || value === '') return DEFAULT_TICKET_TTL_MS
  if (!/^[1-9]\d*$/.test(value))
    throw new DfsError(
      'DFS_USAGE',
      `DFS_DOWNLOAD_TICKET_MS must be a positive number of milliseconds, not ${value}`,
    )
  return Number(value)
}
