// Write leases with waiting: the store grants, renews and releases leases durably; this keeps, in
// memory, the line of writers waiting for each name, first come first served, and hands a lease to
// the next in line when the holder releases it or lets it expire.

import { DfsError } from '../../protocol/errors.ts'
import type { Lease, LeaseOwner, LockState } from '../../protocol/types.ts'
import type { MetadataStore } from '../../metadata/store.ts'
import type { Clock } from '../../server/clock.ts'

interface Waiter {
  owner: LeaseOwner
  ttlMs: number
  resolve: (lease: Lease) => void
  reject: (error: unknown) => void
  cleanup: () => void
}

export class LeaseTable {
  private readonly store: MetadataStore
  private readonly clock: Clock
  private readonly lines = new Map<string, Waiter[]>()
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>()
  private readonly pumping = new Set<string>()

  constructor(store: MetadataStore, clock: Clock) {
    this.store = store
    this.clock = clock
  }

  /** Takes the lease on `name`, waiting in line up to `waitMs`; DFS_LOCKED naming the holder after that. */
  async acquire(
    name: string,
    owner: LeaseOwner,
    ttlMs: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<Lease> {
    if (!this.lines.get(name)?.length) {
      try {
        return await this.store.grantLease(name, owner, this.clock.now(), ttlMs)
      } catch (error) {
        if (!(error instanceof DfsError && error.code === 'DFS_LOCKED') || waitMs <= 0) throw error
      }
    } else if (waitMs <= 0) {
      throw await this.lockedError(name)
    }
    return new Promise<Lease>((resolve, reject) => {
      const line = this.lines.get(name) ?? []
      this.lines.set(name, line)
      const leave = () => {
        const index = line.indexOf(waiter)
        if (index >= 0) line.splice(index, 1)
        if (line.length === 0) this.lines.delete(name)
      }
      const timer = setTimeout(() => {
        leave()
        waiter.cleanup()
        this.lockedError(name).then(reject, reject)
      }, waitMs)
      const onAbort = () => {
        leave()
        waiter.cleanup()
        reject(new DfsError('DFS_UNAVAILABLE', 'the waiting client went away'))
      }
      const waiter: Waiter = {
        owner,
        ttlMs,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      line.push(waiter)
      void this.pump(name)
    })
  }

  async renew(name: string, token: number, ttlMs: number): Promise<Lease> {
    const lease = await this.store.renewLease(name, token, this.clock.now(), ttlMs)
    this.scheduleExpiry(lease)
    return lease
  }

  async release(name: string, token: number): Promise<boolean> {
    const released = await this.store.releaseLease(name, token)
    void this.pump(name)
    return released
  }

  async state(name: string): Promise<LockState | undefined> {
    const lease = await this.store.getLease(name)
    if (!lease || lease.expires <= this.clock.now()) return undefined
    return {
      user: lease.user,
      proxy: lease.proxy,
      since: lease.since,
      expires: lease.expires,
      waiting: this.lines.get(name)?.length ?? 0,
    }
  }

  /** Grants the lease to the first in line while it is free; otherwise waits for the holder's expiry. */
  private async pump(name: string): Promise<void> {
    if (this.pumping.has(name)) return
    this.pumping.add(name)
    try {
      for (;;) {
        const line = this.lines.get(name)
        const next = line?.[0]
        if (!line || !next) return
        let lease: Lease
        try {
          lease = await this.store.grantLease(name, next.owner, this.clock.now(), next.ttlMs)
        } catch (error) {
          if (error instanceof DfsError && error.code === 'DFS_LOCKED') {
            const held = await this.store.getLease(name)
            if (held) this.scheduleExpiry(held)
            return
          }
          line.shift()
          next.cleanup()
          next.reject(error)
          continue
        }
        line.shift()
        if (line.length === 0) this.lines.delete(name)
        next.cleanup()
        next.resolve(lease)
        this.scheduleExpiry(lease)
      }
    } finally {
      this.pumping.delete(name)
    }
  }

  /** Looks again when the current lease would expire, if anyone is waiting for it. */
  private scheduleExpiry(lease: Lease): void {
    clearTimeout(this.expiryTimers.get(lease.name))
    if (!this.lines.get(lease.name)?.length) return
    const delay = Math.max(lease.expires - this.clock.now() + 5, 5)
    this.expiryTimers.set(
      lease.name,
      setTimeout(() => {
        this.expiryTimers.delete(lease.name)
        void this.pump(lease.name)
      }, delay),
    )
  }

  private async lockedError(name: string): Promise<DfsError> {
    const lease = await this.store.getLease(name)
    const holder =
      lease && lease.expires > this.clock.now() ? `${lease.user} (proxy ${lease.proxy})` : 'another writer'
    return new DfsError('DFS_LOCKED', `${name} is locked by ${holder}; gave up waiting`)
  }

  /** Fails every waiter (the directory is shutting down). */
  close(): void {
    for (const timer of this.expiryTimers.values()) clearTimeout(timer)
    for (const line of this.lines.values()) {
      for (const waiter of line) {
        waiter.cleanup()
        waiter.reject(new DfsError('DFS_UNAVAILABLE', 'the directory is shutting down'))
      }
    }
    this.lines.clear()
  }
}
