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
  /** Where the copy comes from and goes; absent while it has to wait (see `waiting`). */
  source?: { id: number; url: string }
  target?: { id: number; url: string }
  /** Why no copy can be made now. */
  waiting?: string
}

/** A pass asked for by wake() starts after this, so a burst of short commits is one pass. */
const WAKE_DELAY_MS = 100

export interface RepairConfig {
  replicas: number
  /** Copies started per second at most. */
  ratePerSecond: number
}

/** A task that can be carried out now. */
export type CopyTask = RepairTask & Required<Pick<RepairTask, 'source' | 'target'>>

/** Copies one blob from `source` to `target`; resolves once the target holds it, verified. */
export type Copier = (task: CopyTask) => Promise<void>

export interface RepairDeps {
  store: MetadataStore
  /** The directory's view of its file servers (live, dead, unreachable), shared with placement. */
  servers: () => Promise<ServerView[]>
  config: RepairConfig
  clock: Clock
  random: Random
  copy: Copier
  log: Logger
  /**
   * Whether this directory leads repair now (taking or renewing the job's lease); periodic passes
   * run only on the leader, so directories sharing a store do not repeat each other's copies.
   * Absent: always.
   */
  lead?: () => Promise<boolean>
}

export class Repairer {
  private readonly store: MetadataStore
  private readonly servers: () => Promise<ServerView[]>
  private readonly config: RepairConfig
  private readonly clock: Clock
  private readonly random: Random
  private readonly copy: Copier
  private readonly log: Logger
  private readonly lead?: () => Promise<boolean>
  private timer?: NodeJS.Timeout
  private running?: Promise<unknown>
  /** Set while started: the pause between passes. */
  private intervalMs?: number
  /** A wake-up came during a pass: run the next one at once. */
  private again = false
  readonly status: RepairStatus = { underReplicated: 0, lost: 0, repaired: 0, failed: 0, lastPass: 0 }

  constructor(deps: RepairDeps) {
    this.store = deps.store
    this.servers = deps.servers
    this.config = deps.config
    this.clock = deps.clock
    this.random = deps.random
    this.copy = deps.copy
    this.log = deps.log
    if (deps.lead) this.lead = deps.lead
  }

  start(intervalMs = 1000): void {
    this.intervalMs = intervalMs
    this.schedule(intervalMs)
  }

  /** Runs a pass soon (a version was committed short of R, or a server came back), not at the next tick. */
  wake(): void {
    if (this.intervalMs === undefined) return
    if (this.running) this.again = true
    else this.schedule(WAKE_DELAY_MS)
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.tick(), delayMs)
  }

  private tick(): void {
    this.running = this.leadingPass()
      .catch((error: unknown) => this.failed(error, 'repair pass failed'))
      .finally(() => {
        this.running = undefined
        if (this.intervalMs === undefined) return
        this.schedule(this.again ? WAKE_DELAY_MS : this.intervalMs)
        this.again = false
      })
  }

  private async leadingPass(): Promise<void> {
    if (this.lead && !(await this.lead())) return
    await this.pass()
  }

  async stop(): Promise<void> {
    this.intervalMs = undefined
    clearTimeout(this.timer)
    await this.running
  }

  /**
   * Every kept version with fewer than R copies on servers that are not dead, most endangered first:
   * with a source and a target where a copy can be made now, else with the reason it has to wait.
   * Counts them (and the versions with no copy left) in `status`.
   */
  async plan(): Promise<RepairTask[]> {
    const servers = await this.servers()
    const byId = new Map(servers.map((s) => [s.id, s]))
    const tasks: RepairTask[] = []
    let lost = 0
    for (const version of await this.store.listAllVersions()) {
      // A draining server's copies do not count, but it may still be the source of the new ones.
      const copies = version.holders.filter(
        (id) => byId.get(id) && !byId.get(id)?.dead && !byId.get(id)?.draining,
      )
      if (copies.length >= this.config.replicas) continue
      const holders = version.holders
        .map((id) => byId.get(id))
        .filter((s): s is ServerView => s !== undefined && !s.dead)
      if (holders.length === 0) lost++
      const source = holders.find((s) => s.live && !s.draining) ?? holders.find((s) => s.live)
      const candidates: ServerView[] = servers.filter((s) => !version.holders.includes(s.id) && !s.dead)
      const [target] = source ? choosePlacement(candidates, 1, version.size, this.random) : []
      tasks.push(task(version, copies, source, target))
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
      .filter((t): t is CopyTask => t.source !== undefined && t.target !== undefined)
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

function task(
  version: FileVersion,
  copies: number[],
  source: ServerView | undefined,
  target: ServerView | undefined,
): RepairTask {
  const base = {
    name: version.name,
    version: version.version,
    sha256: version.sha256,
    size: version.size,
    copies,
  }
  if (!source) {
    const waiting = copies.length === 0 ? 'no copy left on a server that is not dead' : 'no holder is live'
    return { ...base, waiting }
  }
  const from = { id: source.id, url: source.url }
  if (!target) return { ...base, source: from, waiting: 'no other live file server has room for a copy' }
  return { ...base, source: from, target: { id: target.id, url: target.url } }
}
