// Write leases with waiting: the store grants, renews and releases leases durably; this keeps, in
// memory, the line of writers waiting for each name, first come first served, and hands a lease to
// the next in line when the holder releases it or lets it expire. With several directories on one
// store, each has its own lines: the store decides who gets a lease, and which line is first to
// ask after a release is a race between directories (order is kept within each).

import { DfsError } from '../../protocol/errors.ts'
import { formatLeaseKey, parseLeaseKey } from '../../protocol/lease-key.ts'
import type { HeldLeaseView, Lease, LeaseOwner, LockState } from '../../protocol/types.ts'
import type { LeaseKey, MetadataStore } from '../../metadata/store.ts'
import type { Clock, Random } from '../../server/clock.ts'
import { hashToken } from './passwords.ts'

interface Waiter {
  owner: LeaseOwner
  ttlMs: number
  resolve: (lease: HeldLeaseView) => void
  reject: (error: unknown) => void
  cleanup: () => void
}

export class LeaseTable {
  private readonly store: MetadataStore
  private readonly clock: Clock
  private readonly random: Random
  private readonly lines = new Map<string, Waiter[]>()
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>()
  private readonly pumping = new Set<string>()
  private readonly unsubscribe: () => void

  constructor(store: MetadataStore, clock: Clock, random: Random) {
    this.store = store
    this.clock = clock
    this.random = random
    // Directories sharing a store each keep their own lines: a lease released through another one
    // is heard of here (or, where notices are not heard, looked at again at each poll).
    this.unsubscribe = store.subscribe((notice) => {
      if (notice.kind === 'lease') void this.pump(notice.name)
      else if (notice.kind === 'missed') for (const name of this.lines.keys()) void this.pump(name)
    })
  }

  /** A lease with a fresh secret: only the caller ever sees the secret; the store keeps its hash. */
  private async grant(name: string, owner: LeaseOwner, ttlMs: number): Promise<HeldLeaseView> {
    const secret = this.random.token(32)
    const lease = await this.store.grantLease(name, owner, hashToken(secret), this.clock.now(), ttlMs)
    return { ...lease, key: formatLeaseKey(lease.token, secret) }
  }

  /** Takes the lease on `name`, waiting in line up to `waitMs`; DFS_LOCKED naming the holder after that. */
  async acquire(
    name: string,
    owner: LeaseOwner,
    ttlMs: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<HeldLeaseView> {
    if (!this.lines.get(name)?.length) {
      try {
        return await this.grant(name, owner, ttlMs)
      } catch (error) {
        if (!(error instanceof DfsError && error.code === 'DFS_LOCKED') || waitMs <= 0) throw error
      }
    } else if (waitMs <= 0) {
      throw await this.lockedError(name)
    }
    return new Promise<HeldLeaseView>((resolve, reject) => {
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

  /** Extends the lease `key` names, if `owner` holds it. */
  async renew(name: string, key: string, owner: LeaseOwner, ttlMs: number): Promise<Lease> {
    const lease = await this.store.renewLease(name, leaseKey(key), owner, this.clock.now(), ttlMs)
    this.scheduleExpiry(lease)
    return lease
  }

  /** Ends the lease `key` names, if `owner` holds it; false if there was nothing to release. */
  async release(name: string, key: string, owner: LeaseOwner): Promise<boolean> {
    const released = await this.store.releaseLease(name, leaseKey(key), owner)
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
        let lease: HeldLeaseView
        try {
          lease = await this.grant(name, next.owner, next.ttlMs)
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
    this.unsubscribe()
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

/** The key as the store compares it: the token, and the secret's hash. */
export function leaseKey(key: string): LeaseKey {
  const { token, secret } = parseLeaseKey(key)
  return { token, secretHash: hashToken(secret) }
}
