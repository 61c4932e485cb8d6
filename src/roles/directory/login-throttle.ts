// Failed logins are throttled at the directory, so the limit holds across every proxy: per user name
// and per client address, a few failures are free, then each one locks the key out for twice as long
// (up to 15 minutes). While locked out, every attempt is refused unchecked, the right password too,
// so a guesser learns nothing from timing the answer.

import { DfsError } from '../../protocol/errors.ts'
import type { Clock } from '../../server/clock.ts'

interface Failures {
  count: number
  lockedUntil: number
}

const FREE_PER_USER = 3
const FREE_PER_ADDRESS = 10
const MAX_LOCKOUT_MS = 15 * 60_000
/** Keys remembered at most; the oldest are forgotten first (a flood cannot grow memory). */
const MAX_KEYS = 100_000

export class LoginThrottle {
  private readonly clock: Clock
  private readonly failures = new Map<string, Failures>()

  constructor(clock: Clock) {
    this.clock = clock
  }

  /** Refuses an attempt while the user name or the client address is locked out. */
  check(user: string, address: string | undefined): void {
    const now = this.clock.now()
    for (const key of keys(user, address)) {
      const lockedUntil = this.failures.get(key)?.lockedUntil ?? 0
      if (lockedUntil > now) {
        const seconds = Math.ceil((lockedUntil - now) / 1000)
        throw new DfsError(
          'DFS_RATE_LIMITED',
          `too many failed logins ${key.startsWith('user:') ? `for ${user}` : `from ${address}`}; try again in ${seconds} s`,
          { retryAfterSeconds: seconds },
        )
      }
    }
  }

  failed(user: string, address: string | undefined): void {
    const now = this.clock.now()
    for (const key of keys(user, address)) {
      const entry = this.failures.get(key) ?? { count: 0, lockedUntil: 0 }
      entry.count++
      const free = key.startsWith('user:') ? FREE_PER_USER : FREE_PER_ADDRESS
      if (entry.count >= free)
        entry.lockedUntil = now + Math.min(1000 * 2 ** (entry.count - free), MAX_LOCKOUT_MS)
      this.failures.delete(key)
      this.failures.set(key, entry)
    }
    while (this.failures.size > MAX_KEYS) this.failures.delete(this.failures.keys().next().value!)
  }

  succeeded(user: string, address: string | undefined): void {
    for (const key of keys(user, address)) this.failures.delete(key)
  }
}

function keys(user: string, address: string | undefined): string[] {
  return address ? [`user:${user}`, `addr:${address}`] : [`user:${user}`]
}
