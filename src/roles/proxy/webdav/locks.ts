// WebDAV class 2 locks are dfs write leases: LOCK takes the name's lease (no waiting: a WebDAV client
// expects 423 at once), the lock token is the lease key, a refresh renews it and UNLOCK releases it.
// So a WebDAV client, `dfs lock` and `dfs edit` exclude each other, and every write under a lock is
// fenced by the directory. What a client said of itself (<owner>) is kept here, for lockdiscovery.

import { DfsError } from '../../../protocol/errors.ts'
import type { HeldLeaseView } from '../../../protocol/types.ts'
import type { Caller } from '../service.ts'
import { lockToken } from './if-header.ts'
import type { LockXml } from './properties.ts'

/** The longest a lease lasts (the directory's bound); a client asking for more, or Infinite, gets this. */
export const MAX_LOCK_SECONDS = 600
/** A lock taken for one PUT that replaces a file, renewed while its bytes flow. */
const PUT_LEASE_MS = 30_000
const MAX_OWNERS = 10_000

interface Granted {
  key: string
  owner?: string
  timeoutSeconds: number
}

export class DavLocks {
  /** Locks taken through this proxy, by name: their <owner>, and their token for their holder. */
  private readonly granted = new Map<string, Granted>()

  async lock(caller: Caller, name: string, timeoutSeconds: number, owner?: string): Promise<HeldLeaseView> {
    const lease = await caller.directory.acquire(name, timeoutSeconds * 1000, 0)
    if (this.granted.size >= MAX_OWNERS) this.granted.clear()
    this.granted.set(name, { key: lease.key, timeoutSeconds, ...(owner ? { owner } : {}) })
    return lease
  }

  async refresh(caller: Caller, name: string, key: string, timeoutSeconds: number): Promise<void> {
    await caller.directory.renew(name, key, timeoutSeconds * 1000)
    const granted = this.granted.get(name)
    if (granted?.key === key) granted.timeoutSeconds = timeoutSeconds
    else this.granted.set(name, { key, timeoutSeconds })
  }

  async unlock(caller: Caller, name: string, key: string): Promise<void> {
    const { released } = await caller.directory.release(name, key)
    if (this.granted.get(name)?.key === key) this.granted.delete(name)
    if (!released) throw new DfsError('DFS_CONFLICT', `that lock token does not hold the lock on ${name}`)
  }

  /** What lockdiscovery shows of `name`'s lock (from the directory's word), as `caller` may see it. */
  view(caller: Caller, name: string, state: LockXml['state'] | undefined): LockXml | null {
    if (!state) return null
    const granted = this.granted.get(name)
    const remaining = Math.max(1, Math.ceil((state.expires - Date.now()) / 1000))
    return {
      state,
      timeoutSeconds: remaining,
      ...(granted && state.user === caller.user ? { token: lockToken(granted.key) } : {}),
      ...(granted?.owner ? { owner: granted.owner } : {}),
    }
  }

  /**
   * Runs `work` under a lease of its own on `name`, renewed while it runs: a PUT that replaces a file
   * without a lock of the client's (dfs replaces a name only under its lease).
   */
  async whileHeld<T>(caller: Caller, name: string, work: (key: string) => Promise<T>): Promise<T> {
    const lease = await caller.directory.acquire(name, PUT_LEASE_MS, 0)
    const timer = setInterval(
      () => void caller.directory.renew(name, lease.key, PUT_LEASE_MS).catch(() => undefined),
      PUT_LEASE_MS / 3,
    )
    try {
      return await work(lease.key)
    } finally {
      clearInterval(timer)
      await caller.directory.release(name, lease.key).catch(() => undefined)
    }
  }
}

/**
 * The lock's duration from a Timeout header (`Second-N` or `Infinite`, best first): at most the
 * directory's bound.
 */
export function lockSeconds(header: string | undefined): number {
  for (const option of (header ?? '').split(',').map((s) => s.trim())) {
    if (/^Infinite$/i.test(option)) return MAX_LOCK_SECONDS
    const seconds = /^Second-([0-9]{1,10})$/i.exec(option)?.[1]
    if (seconds) return Math.min(MAX_LOCK_SECONDS, Math.max(1, Number(seconds)))
  }
  return MAX_LOCK_SECONDS
}
