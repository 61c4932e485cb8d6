// A write lease held by this CLI process: taken through the proxy (waiting in line), renewed in the
// background at a third of its TTL, released at the end. If a renewal finds the lease taken by
// someone else, it is marked lost, and any write under it will be refused by the directory anyway.

import type { ProxyClient } from '../client/proxy-client.ts'
import { DfsError } from '../protocol/errors.ts'
import type { HeldLeaseView } from '../protocol/types.ts'

/** How long a command waits in line for a lock, and the TTL of its lease, unless told otherwise. */
export const LEASE_WAIT_MS = 5 * 60_000
export const LEASE_TTL_MS = 30_000

export class HeldLease {
  readonly lease: HeldLeaseView
  private readonly client: ProxyClient
  private readonly ttlMs: number
  private timer?: NodeJS.Timeout
  lost?: DfsError

  private constructor(client: ProxyClient, lease: HeldLeaseView, ttlMs: number) {
    this.client = client
    this.lease = lease
    this.ttlMs = ttlMs
  }

  static async acquire(client: ProxyClient, name: string, waitMs: number, ttlMs: number): Promise<HeldLease> {
    const held = new HeldLease(client, await client.acquire(name, waitMs, ttlMs), ttlMs)
    held.schedule()
    return held
  }

  /** What writes under this lease present: `<token>.<secret>`. */
  get key(): string {
    return this.lease.key
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.renew(), Math.max(this.ttlMs / 3, 250))
    // Renewal alone must not keep the process alive.
    this.timer.unref()
  }

  private async renew(): Promise<void> {
    try {
      await this.client.renew(this.lease.name, this.lease.key, this.ttlMs)
    } catch (error) {
      if (error instanceof DfsError && (error.code === 'DFS_CONFLICT' || error.code === 'DFS_LOCKED')) {
        this.lost = error
        process.stderr.write(`dfs: warning: ${error.message}\n`)
        return
      }
      // A passing failure (proxy restarting): keep trying until the lease would have expired.
    }
    this.schedule()
  }

  async release(): Promise<void> {
    clearTimeout(this.timer)
    if (this.lost) return
    try {
      await this.client.release(this.lease.name, this.lease.key)
    } catch {
      // Unreleased, the lease still expires after its TTL.
    }
  }
}
