// Callback promises: AFS's callbacks, held as leases the way Chubby holds its cache leases. A proxy
// that follows the change feed acknowledges every change it has applied, and each acknowledgement
// renews a promise for a few seconds: no change it has not acknowledged is reported done to a
// writer. A change therefore waits, before its writer hears of it, until every proxy holding a
// promise has acknowledged it or that promise has run out. While its promise holds, a proxy may
// serve a cached version it knows of without asking, and no write it has not heard of can have
// finished. A proxy that goes quiet costs writers at most one promise's length, once.
//
// Changes to who may read what (modes, owners, groups, sessions) are not in the feed: they start a
// new epoch instead, which every proxy must acknowledge (after forgetting what it trusted) before
// the change is reported done.

import type { CallbackGrant } from '../../protocol/types.ts'
import type { Clock } from '../../server/clock.ts'

/** How long one acknowledgement's promise lasts. */
export const PROMISE_MS = 2_000

interface Holder {
  seq: number
  epoch: number
  expires: number
}

interface Waiter {
  seq: number
  epoch: number
  /** A proxy not waited for (the writer's own, which heard of the change from its answer). */
  except: number | undefined
  resolve: () => void
}

export class CallbackTable {
  private readonly clock: Clock
  private readonly promiseMs: number
  private readonly holders = new Map<number, Holder>()
  private waiters: Waiter[] = []
  private timer: NodeJS.Timeout | undefined
  private readonly epochListeners = new Set<(epoch: number) => void>()
  epoch = 1

  /** `promiseMs` 0 grants nothing: proxies then ask the directory on every read. */
  constructor(clock: Clock, promiseMs = PROMISE_MS) {
    this.clock = clock
    this.promiseMs = promiseMs
  }

  /** True when some proxy holds a promise: only then must a change wait. */
  active(): boolean {
    const now = this.clock.now()
    for (const holder of this.holders.values()) if (holder.expires > now) return true
    return false
  }

  /** Proxy `proxy` has applied every change up to `seq`, and forgotten what it trusted before `epoch`. */
  ack(proxy: number, seq: number, epoch: number): CallbackGrant {
    if (this.promiseMs <= 0 || epoch !== this.epoch) {
      // A proxy behind on the epoch gets no promise until it has caught up (its next ack).
      return { validForMs: 0, epoch: this.epoch }
    }
    const previous = this.holders.get(proxy)
    this.holders.set(proxy, {
      seq: Math.max(seq, previous?.seq ?? 0),
      epoch,
      expires: this.clock.now() + this.promiseMs,
    })
    this.wake()
    return { validForMs: this.promiseMs, epoch: this.epoch }
  }

  /** Who may read what changed: every promise must be renewed under a new epoch. Returns it. */
  newEpoch(): number {
    this.epoch++
    for (const listener of this.epochListeners) listener(this.epoch)
    return this.epoch
  }

  onEpoch(listener: (epoch: number) => void): () => void {
    this.epochListeners.add(listener)
    return () => this.epochListeners.delete(listener)
  }

  /**
   * Resolves once every proxy holding a promise (but `except`) has acknowledged change `seq` and
   * `epoch` (the current one by default), or its promise has run out.
   */
  settled(seq: number, epoch = this.epoch, except?: number): Promise<void> {
    if (this.isSettled(seq, epoch, except)) return Promise.resolve()
    return new Promise((resolve) => {
      this.waiters.push({ seq, epoch, except, resolve })
      this.schedule()
    })
  }

  close(): void {
    clearTimeout(this.timer)
    for (const waiter of this.waiters) waiter.resolve()
    this.waiters = []
  }

  private isSettled(seq: number, epoch: number, except?: number): boolean {
    const now = this.clock.now()
    for (const [proxy, holder] of this.holders) {
      if (holder.expires <= now) {
        this.holders.delete(proxy)
        continue
      }
      if (proxy === except) continue
      if (holder.seq < seq || holder.epoch < epoch) return false
    }
    return true
  }

  private wake(): void {
    if (this.waiters.length === 0) return
    const waiting: Waiter[] = []
    for (const waiter of this.waiters) {
      if (this.isSettled(waiter.seq, waiter.epoch, waiter.except)) waiter.resolve()
      else waiting.push(waiter)
    }
    this.waiters = waiting
    this.schedule()
  }

  /** Wakes the waiters again when the next promise runs out (an ack wakes them sooner). */
  private schedule(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.waiters.length === 0) return
    const now = this.clock.now()
    let next = Infinity
    for (const holder of this.holders.values())
      if (holder.expires > now) next = Math.min(next, holder.expires)
    if (next === Infinity) return this.wake()
    this.timer = setTimeout(() => this.wake(), Math.max(1, next - now))
    this.timer.unref()
  }
}
