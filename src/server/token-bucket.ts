// A rate on the injected Clock: `perSecond` tokens a second, at most `burst` of them saved up, so
// what a job starts keeps to the rate however often the job runs.

import type { Clock } from './clock.ts'

/** Credit is kept in thousandths of a token: whole milliseconds then add whole units, no rounding. */
const UNIT = 1000

export class TokenBucket {
  private readonly perSecond: number
  private readonly capacity: number
  private readonly clock: Clock
  private credit: number
  private at: number

  constructor(perSecond: number, burst: number, clock: Clock) {
    this.perSecond = perSecond
    this.capacity = burst * UNIT
    this.clock = clock
    // Full at first: the first run after a start need not wait.
    this.credit = this.capacity
    this.at = clock.now()
  }

  /** Takes a token if there is one now; whether it did. */
  take(): boolean {
    this.refill()
    if (this.credit < UNIT) return false
    this.credit -= UNIT
    return true
  }

  /** Milliseconds until there is a token to take (0 if there is one now). */
  msUntilToken(): number {
    this.refill()
    return Math.max(0, Math.ceil((UNIT - this.credit) / this.perSecond))
  }

  /** Milliseconds until the bucket is full again (0 if it is). */
  msUntilFull(): number {
    this.refill()
    return Math.ceil((this.capacity - this.credit) / this.perSecond)
  }

  private refill(): void {
    const now = this.clock.now()
    // A clock set back adds nothing, and the rate counts on from the new time.
    const elapsed = Math.max(0, now - this.at)
    this.credit = Math.min(this.capacity, this.credit + elapsed * this.perSecond)
    this.at = now
  }
}
