// Self-repair: finds every kept version with fewer than R copies on servers that are not dead, and
// has a live holder copy it to a new server (server to server, streamed, verified by hash), most
// endangered first, at a bounded rate. A server silent past --dead-after is dead: its copies no
// longer count, and once repaired elsewhere they leave the version's holders. Every failed copy,
// and every pass that fails as a whole, logs one line with its reason and becomes the last error.

import type { MetadataStore } from '../../metadata/store.ts'
import {
  JOB_MESSAGE_MAX,
  type FileVersion,
  type RepairFailure,
  type RepairOutcome,
  type RepairStatus,
  type ServerView,
} from '../../protocol/types.ts'

export type { RepairStatus }
import type { Clock, Random } from '../../server/clock.ts'
import { reason, type Logger } from '../../server/logger.ts'
import { choosePlacement } from './placement.ts'

export interface RepairTask {
  name: string
  version: number
  sha256: string
  size: number
  /** Holders whose copies still count. */
  copies: number[]
  source: { id: number; url: string }
  /** Absent when no server can take the copy now; `waiting` says why. */
  target?: { id: number; url: string }
  waiting?: string
}

/** A task a pass can run: one with a target. */
export type RunnableTask = RepairTask & { target: { id: number; url: string } }

export interface RepairConfig {
  replicas: number
  deadAfterMs: number
  liveAfterMs: number
  /** Copies started per second at most. */
  ratePerSecond: number
}

/** Copies one blob from `source` to `target`; resolves once the target holds it, verified. */
export type Copier = (task: RunnableTask) => Promise<void>

export class Repairer {
  private readonly store: MetadataStore
  private readonly config: RepairConfig
  private readonly clock: Clock
  private readonly random: Random
  private readonly copy: Copier
  private readonly log: Logger
  private timer?: NodeJS.Timeout
  private running?: Promise<unknown>
  readonly status: RepairStatus = { underReplicated: 0, lost: 0, repaired: 0, failed: 0, lastPass: 0 }

  constructor(
    store: MetadataStore,
    config: RepairConfig,
    clock: Clock,
    random: Random,
    copy: Copier,
    log: Logger,
  ) {
    this.store = store
    this.config = config
    this.clock = clock
    this.random = random
    this.copy = copy
    this.log = log
  }

  start(intervalMs = 1000): void {
    const tick = () => {
      this.running = this.pass()
        .catch((error: unknown) => this.failed(error, 'repair pass failed'))
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

  /**
   * One pass: plans, then copies at most ratePerSecond blobs, updating holders as each lands. Tasks
   * waiting for a target are left for a later pass; each failed copy is logged and returned.
   */
  async pass(): Promise<RepairOutcome> {
    const tasks = (await this.plan())
      .filter((t): t is RunnableTask => t.target !== undefined)
      .slice(0, this.config.ratePerSecond)
    let copied = 0
    const failures: RepairFailure[] = []
    for (const t of tasks) {
      try {
        await this.copy(t)
        // The version's holders become the copies that count, plus the new one.
        await this.store.setHolders(t.name, t.version, [...t.copies, t.target.id])
        this.status.repaired++
        copied++
      } catch (error) {
        this.status.failed++
        const { name, version } = t
        const failure = { name, version, source: t.source.id, target: t.target.id, error: reason(error) }
        failures.push(failure)
        this.failed(error, `repair copy of ${name} v${version} ${failure.source} -> ${failure.target} failed`)
      }
    }
    this.status.lastPass = this.clock.now()
    this.status.underReplicated = Math.max(0, this.status.underReplicated - copied)
    return { copied, failures }
  }

  /** One log line with the reason, which `dfs status` shows as the last error. */
  private failed(error: unknown, what: string): void {
    const message = reason(error)
    this.status.lastError = { at: this.clock.now(), message: `${what}: ${message}`.slice(0, JOB_MESSAGE_MAX) }
    this.log.warn({ err: error }, `${what}: ${message}`)
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
