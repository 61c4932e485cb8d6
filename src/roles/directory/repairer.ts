// Self-repair: finds every kept version with fewer than R copies on servers that are not dead, and
// has a live holder copy it to a new server (server to server, streamed, verified by hash), most
// endangered first, at a bounded rate. A server silent past --dead-after is dead: its copies no
// longer count, and once repaired elsewhere they leave the version's holders.

import type { MetadataStore } from '../../metadata/store.ts'
import type { FileVersion, RepairStatus, ServerView } from '../../protocol/types.ts'

export type { RepairStatus }
import type { Clock, Random } from '../../server/clock.ts'
import { choosePlacement } from './placement.ts'

export interface RepairTask {
  name: string
  version: number
  sha256: string
  size: number
  /** Holders whose copies still count. */
  copies: number[]
  source: { id: number; url: string }
  target: { id: number; url: string }
}

export interface RepairConfig {
  replicas: number
  deadAfterMs: number
  liveAfterMs: number
  /** Copies started per second at most. */
  ratePerSecond: number
}

/** Copies one blob from `source` to `target`; resolves once the target holds it, verified. */
export type Copier = (task: RepairTask) => Promise<void>

export class Repairer {
  private readonly store: MetadataStore
  private readonly config: RepairConfig
  private readonly clock: Clock
  private readonly random: Random
  private readonly copy: Copier
  private timer?: NodeJS.Timeout
  private running?: Promise<unknown>
  readonly status: RepairStatus = { underReplicated: 0, lost: 0, repaired: 0, failed: 0, lastPass: 0 }

  constructor(store: MetadataStore, config: RepairConfig, clock: Clock, random: Random, copy: Copier) {
    this.store = store
    this.config = config
    this.clock = clock
    this.random = random
    this.copy = copy
  }

  start(intervalMs = 1000): void {
    const tick = () => {
      this.running = this.pass()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, intervalMs)
        })
    }
    this.timer = setTimeout(tick, intervalMs)
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.running
  }

  /** What a pass would do now, most endangered first. */
  async plan(): Promise<RepairTask[]> {
    const now = this.clock.now()
    const servers = (await this.store.listServers()).map((s) => ({
      ...s,
      live: now - s.lastHeartbeat <= this.config.liveAfterMs,
      dead: now - s.lastHeartbeat > this.config.deadAfterMs,
    }))
    const byId = new Map(servers.map((s) => [s.id, s]))
    const tasks: RepairTask[] = []
    let lost = 0
    for (const version of await this.store.listAllVersions()) {
      const copies = version.holders.filter((id) => byId.get(id) && !byId.get(id)?.dead)
      if (copies.length >= Math.min(this.config.replicas, servers.filter((s) => !s.dead).length)) continue
      const source = copies.map((id) => byId.get(id)!).find((s) => s.live)
      if (!source) {
        if (copies.length === 0) lost++
        continue
      }
      const candidates: ServerView[] = servers.filter((s) => !version.holders.includes(s.id) && !s.dead)
      const [target] = choosePlacement(candidates, 1, version.size, this.random)
      if (target) tasks.push(task(version, copies, source, target))
    }
    this.status.underReplicated = tasks.length
    this.status.lost = lost
    return tasks.sort((a, b) => a.copies.length - b.copies.length)
  }

  /** One pass: plans, then copies at most ratePerSecond blobs, updating holders as each lands. */
  async pass(): Promise<number> {
    const tasks = (await this.plan()).slice(0, this.config.ratePerSecond)
    let done = 0
    for (const t of tasks) {
      try {
        await this.copy(t)
        // The version's holders become the copies that count, plus the new one.
        await this.store.setHolders(t.name, t.version, [...t.copies, t.target.id])
        this.status.repaired++
        done++
      } catch {
        this.status.failed++
      }
    }
    this.status.lastPass = this.clock.now()
    this.status.underReplicated = Math.max(0, this.status.underReplicated - done)
    return done
  }
}

function task(version: FileVersion, copies: number[], source: ServerView, target: ServerView): RepairTask {
  return {
    name: version.name,
    version: version.version,
    sha256: version.sha256,
    size: version.size,
    copies,
    source: { id: source.id, url: source.url },
    target: { id: target.id, url: target.url },
  }
}
