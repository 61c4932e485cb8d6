// The proxy's side of the directory's callback promises (roles/directory/callbacks.ts): it
// acknowledges the changes it has applied from the feed, at most one acknowledgement in flight and
// one every third of a promise while nothing changes, and knows until when the directory has
// promised that no change it has not acknowledged was reported done. While the feed is connected and
// that promise holds, what it knows of a name is current. A new epoch (who may read what changed)
// makes it forget what it trusted before it acknowledges again.

import type { CallbackGrant } from '../../protocol/types.ts'
import type { Clock } from '../../server/clock.ts'
import { reason, type Logger } from '../../server/logger.ts'

export interface CallbackPromiseDeps {
  clock: Clock
  /** Sends an acknowledgement to the directory. */
  ack(seq: number, epoch: number): Promise<CallbackGrant>
  /** The epoch moved on: forget every name and session trusted so far. */
  forgetTrusted(): void
  log: Pick<Logger, 'warn'>
}

export class CallbackPromise {
  private readonly deps: CallbackPromiseDeps
  private seq = 0
  private epoch = 0
  private until = 0
  private connected = false
  private sending = false
  private again = false
  private timer: NodeJS.Timeout | undefined
  private failing = false
  /** Uploads waiting for the feed to bring their own change (reached()). */
  private readonly reaching = new Set<{ seq: number; resolve: (ok: boolean) => void }>()
  private stopped = false
  /** The directory grants no promises (several share the store): acknowledging is pointless. */
  private declined = false

  constructor(deps: CallbackPromiseDeps) {
    this.deps = deps
  }

  /** True while the directory's promise holds and the feed is live: cached knowledge is current. */
  holds(): boolean {
    return this.connected && this.deps.clock.now() < this.until
  }

  /** The feed is up, as of change `seq` (its position): acknowledge from there. */
  connect(seq: number): void {
    this.connected = true
    this.declined = false
    this.seq = seq
    this.send()
  }

  /** The feed is down (or changes were missed): nothing is trusted until it is back and acknowledged. */
  disconnect(): void {
    this.connected = false
    this.until = 0
    this.wakeReached()
  }

  /** Change `seq` has been applied (what was known of its name forgotten). */
  applied(seq: number): void {
    this.seq = Math.max(this.seq, seq)
    this.wakeReached()
    this.send()
  }

  /**
   * Resolves true once change `seq` has been applied, or the feed is down (nothing is trusted then);
   * false if neither happened within `timeoutMs`.
   */
  reached(seq: number, timeoutMs: number): Promise<boolean> {
    if (!this.connected || this.seq >= seq) return Promise.resolve(true)
    return new Promise((resolve) => {
      const waiter = {
        seq,
        resolve: (ok: boolean) => {
          clearTimeout(timer)
          this.reaching.delete(waiter)
          resolve(ok)
        },
      }
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs)
      this.reaching.add(waiter)
    })
  }

  private wakeReached(): void {
    for (const waiter of this.reaching) if (!this.connected || this.seq >= waiter.seq) waiter.resolve(true)
  }

  /** The directory announced epoch `epoch` (on the feed, or in an acknowledgement's answer). */
  epochSeen(epoch: number): void {
    if (epoch <= this.epoch) return
    this.epoch = epoch
    this.until = 0
    this.deps.forgetTrusted()
    this.send()
  }

  stop(): void {
    this.stopped = true
    this.disconnect()
    clearTimeout(this.timer)
  }

  private send(): void {
    if (this.stopped || !this.connected || this.declined) return
    if (this.sending) {
      this.again = true
      return
    }
    this.sending = true
    this.again = false
    clearTimeout(this.timer)
    const sentAt = this.deps.clock.now()
    const { seq, epoch } = this
    this.deps
      .ack(seq, epoch)
      .then(
        (grant) => {
          this.failing = false
          if (grant.epoch > this.epoch) return this.epochSeen(grant.epoch)
          if (grant.validForMs <= 0) {
            this.declined = true
            return
          }
          // Measured from when it was sent: the directory's own count starts later, so ends later.
          if (grant.epoch === this.epoch && this.connected)
            this.until = Math.max(this.until, sentAt + grant.validForMs)
          this.renewIn(grant.validForMs / 3)
        },
        (error: unknown) => {
          if (!this.failing)
            this.deps.log.warn({ err: error }, `acknowledging changes failed: ${reason(error)}`)
          this.failing = true
          this.renewIn(500)
        },
      )
      .finally(() => {
        this.sending = false
        if (this.again) this.send()
      })
  }

  private renewIn(ms: number): void {
    clearTimeout(this.timer)
    if (this.stopped || ms <= 0) return
    this.timer = setTimeout(() => this.send(), ms)
    this.timer.unref()
  }
}
