// Self-repair: finds every kept version with fewer than R copies on servers that are not dead, and
// has a live holder copy it to a new server (server to server, streamed, verified by hash), most
// endangered first, at --repair-rate copies a second at most. A server silent past --dead-after is
// dead: its copies no longer count, and once repaired elsewhere they leave the version's holders.
// The store hands out only the versions that may be short, a page at a time, so a pass costs what
// is to be repaired, not the size of the namespace. Every failed copy, and every pass that fails as
// a whole, logs one line with its reason and becomes the last error.

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
import { TokenBucket } from '../../server/token-bucket.ts'
import { setTimeout as sleep } from 'node:timers/promises'
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
/** Candidates asked of the store at a time. */
const PAGE = 500
/** A pass looks at this many candidates at most, from where the last pass stopped. */
const WINDOW = 2000

export interface RepairConfig {
  replicas: number
  /** Copies started per second at most, across passes. */
  ratePerSecond: number
  /** Candidates one pass looks at, at most (default WINDOW). */
  window?: number
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
  /** Waits `ms` (a pass asked for by a person waits for the rate's tokens); tests move a fake clock. */
  sleep?: (ms: number) => Promise<void>
}

/** What the directory running repair saves for the others (see sharedStatus). */
type SavedRepairState = Pick<RepairStatus, 'repaired' | 'failed' | 'lastPass' | 'lastError'>

interface VersionKey {
  name: string
  version: number
}

/** The directory's file servers as one pass or plan sees them. */
interface View {
  servers: ServerView[]
  byId: Map<number, ServerView>
  /** Servers whose copies do not count: dead, draining, or no longer known to the directory. */
  suspect: number[]
}

/** A version short of R: the holders whose copies count, and those a copy could come from. */
interface Shortfall {
  version: FileVersion
  copies: number[]
  /** Holders known and not dead (none: the version is lost). */
  sources: ServerView[]
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
  private readonly sleep: (ms: number) => Promise<void>
  /** The pass running now or last, background or asked for: one at a time, so none copies what another is copying. */
  private passes: Promise<unknown> = Promise.resolve()
  /** Whether this directory led the last periodic pass. */
  private leading = false
  /** Copies started, across passes: passes run on a timer and on wake(), the rate is per second. */
  private readonly bucket: TokenBucket
  private timer?: NodeJS.Timeout
  private running?: Promise<unknown>
  /** Set while started: the pause between passes. */
  private intervalMs?: number
  /** A wake-up came during a pass: run the next one at once. */
  private again = false
  /** Where the next pass starts looking; undefined: at the first candidate. */
  private cursor?: VersionKey
  /** What the last pass left: copies it had no token for, or candidates it did not look at. */
  private left: 'nothing' | 'copies' | 'candidates' = 'nothing'
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
    this.sleep = deps.sleep ?? ((ms) => sleep(ms))
    this.bucket = new TokenBucket(deps.config.ratePerSecond, deps.config.ratePerSecond, deps.clock)
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
    this.running = this.oneAtATime(() => this.leadingPass())
      .catch((error: unknown) => this.failed(error, 'repair pass failed'))
      .finally(() => {
        this.running = undefined
        if (this.intervalMs === undefined) return
        this.schedule(this.again ? WAKE_DELAY_MS : this.nextDelay(this.intervalMs))
        this.again = false
      })
  }

  private async leadingPass(): Promise<void> {
    const leading = this.lead ? await this.lead() : true
    // Taking over from another directory: go on counting from what it saved.
    if (leading && !this.leading) await this.load()
    this.leading = leading
    if (!leading) return
    await this.pass()
  }

  /**
   * The counters and the last pass and error, as whichever directory ran repair last saved them
   * (directories sharing a store show the same), with this directory's count of what is short.
   */
  async sharedStatus(): Promise<RepairStatus> {
    const saved = await this.savedState()
    if (!saved || saved.lastPass <= this.status.lastPass) return { ...this.status }
    return { ...this.status, ...saved }
  }

  private async savedState(): Promise<SavedRepairState | undefined> {
    try {
      const text = await this.store.getJobState('repair')
      return text === undefined ? undefined : (JSON.parse(text) as SavedRepairState)
    } catch {
      return undefined
    }
  }

  private async load(): Promise<void> {
    const saved = await this.savedState()
    if (saved && saved.lastPass > this.status.lastPass) Object.assign(this.status, saved)
  }

  private async save(): Promise<void> {
    const { repaired, failed, lastPass, lastError } = this.status
    const state: SavedRepairState = { repaired, failed, lastPass, ...(lastError ? { lastError } : {}) }
    await this.store
      .putJobState('repair', JSON.stringify(state))
      .catch((error: unknown) =>
        this.log.warn({ err: error }, `saving the repair state failed: ${reason(error)}`),
      )
  }

  /** A pass that left work goes on soon: once the rate allows its copies, or at once for candidates. */
  private nextDelay(intervalMs: number): number {
    if (this.left === 'copies')
      return Math.min(intervalMs, Math.max(WAKE_DELAY_MS, this.bucket.msUntilFull()))
    if (this.left === 'candidates') return Math.min(intervalMs, WAKE_DELAY_MS)
    return intervalMs
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
    const view = await this.view()
    const short: Shortfall[] = []
    await this.walk(view, undefined, Infinity, (s) => short.push(s))
    this.counted(short)
    return mostEndangered(short).map((s) => this.task(s, view))
  }

  /** Counts the versions short of R and those lost in `status`, as plan() does, without planning. */
  async count(): Promise<void> {
    const view = await this.view()
    let underReplicated = 0
    let lost = 0
    await this.walk(view, undefined, Infinity, (s) => {
      underReplicated++
      if (s.sources.length === 0) lost++
    })
    this.status.underReplicated = underReplicated
    this.status.lost = lost
  }

  /**
   * One pass: looks at a window of candidates from where the last pass stopped, and starts copies of
   * the most endangered among them while the rate allows, updating holders as each lands. Tasks
   * waiting for a source or target are left for a later pass; each failed copy is logged and returned.
   */
  async pass(): Promise<RepairOutcome> {
    const view = await this.view()
    const from = this.cursor
    const short: Shortfall[] = []
    const { after, end } = await this.walk(view, from, this.config.window ?? WINDOW, (s) => short.push(s))
    // Placed one by one, in order, and only as far as there are tokens: the rest waits anyway.
    let copied = 0
    /** Versions brought back to R (one copy may not be enough). */
    let restored = 0
    let limited = false
    const failures: RepairFailure[] = []
    for (const s of mostEndangered(short)) {
      const t = this.task(s, view)
      if (t.source === undefined || t.target === undefined) continue
      if (!this.bucket.take()) {
        limited = true
        break
      }
      const failure = await this.attempt({ ...t, source: t.source, target: t.target })
      if (failure) {
        failures.push(failure)
        continue
      }
      copied++
      if (t.copies.length + 1 >= this.config.replicas) restored++
    }
    // The next pass looks further on; copies with no token here get their turn when it comes back.
    this.cursor = end ? undefined : after
    this.left = limited ? 'copies' : end ? 'nothing' : 'candidates'
    // Counts are exact when this pass saw every candidate; else they are the last count's, less copies.
    if (from === undefined && end) this.counted(short)
    this.status.underReplicated = Math.max(0, this.status.underReplicated - restored)
    this.status.lastPass = this.clock.now()
    await this.save()
    return { copied, failures }
  }

  /**
   * A pass a person asked for (dfs repair, the dashboard's button): every copy the plan can make now
   * among the candidates one pass looks at, most endangered first, waiting for the rate's tokens
   * rather than leaving copies for later; after the background pass running now, if any, and before
   * the next. What is still short at the end (waiting, lost, or beyond the window) is `left`.
   */
  async runNow(): Promise<RepairOutcome & { left: number }> {
    return this.oneAtATime(async () => {
      const view = await this.view()
      const short: Shortfall[] = []
      await this.walk(view, undefined, this.config.window ?? WINDOW, (s) => short.push(s))
      let copied = 0
      const failures: RepairFailure[] = []
      for (const s of mostEndangered(short)) {
        const t = this.task(s, view)
        if (t.source === undefined || t.target === undefined) continue
        while (!this.bucket.take()) await this.sleep(this.bucket.msUntilToken())
        const failure = await this.attempt({ ...t, source: t.source, target: t.target })
        if (failure) failures.push(failure)
        else copied++
      }
      await this.count()
      this.status.lastPass = this.clock.now()
      await this.save()
      return { copied, failures, left: this.status.underReplicated }
    })
  }

  /** Runs `work` once the pass before it has ended. */
  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.passes.then(work, work)
    this.passes = run.catch(() => undefined)
    return run
  }

  /** One copy; the failure, logged, if it failed. */
  private async attempt(t: CopyTask): Promise<RepairFailure | undefined> {
    try {
      await this.copy(t)
      // The version's holders become the copies that count, plus the new one.
      await this.store.setHolders(t.name, t.version, [...t.copies, t.target.id])
      this.status.repaired++
      return undefined
    } catch (error) {
      this.status.failed++
      const { name, version } = t
      const failure = { name, version, source: t.source.id, target: t.target.id, error: reason(error) }
      this.failed(error, `repair copy of ${name} v${version} ${failure.source} -> ${failure.target} failed`)
      return failure
    }
  }

  private async view(): Promise<View> {
    const [servers, holding] = await Promise.all([this.servers(), this.store.holderServers()])
    const byId = new Map(servers.map((s) => [s.id, s]))
    const suspect = servers.filter((s) => s.dead || s.draining).map((s) => s.id)
    for (const id of holding) if (!byId.has(id)) suspect.push(id)
    return { servers, byId, suspect }
  }

  /**
   * Pages through the store's candidates after `from`, up to `max` of them, handing each version
   * short of R to `visit`; where it stopped, and whether that was the last candidate.
   */
  private async walk(
    view: View,
    from: VersionKey | undefined,
    max: number,
    visit: (short: Shortfall) => void,
  ): Promise<{ after?: VersionKey; end: boolean }> {
    let after = from
    for (let seen = 0; seen < max;) {
      // Between pages, heartbeats and requests get their turn: the store answers synchronously.
      if (seen > 0) await new Promise((resolve) => setImmediate(resolve))
      const limit = Math.min(PAGE, max - seen)
      const page = await this.store.underReplicated(this.config.replicas, view.suspect, after, limit)
      for (const version of page) {
        const s = shortfall(version, view, this.config.replicas)
        if (s) visit(s)
      }
      seen += page.length
      const last = page.at(-1)
      if (page.length < limit || !last) return { end: true }
      after = { name: last.name, version: last.version }
    }
    return { ...(after ? { after } : {}), end: false }
  }

  private counted(short: Shortfall[]): void {
    this.status.underReplicated = short.length
    this.status.lost = short.filter((s) => s.sources.length === 0).length
  }

  /** Where a copy comes from (a live holder, not draining if one is) and goes; or why it waits. */
  private task(s: Shortfall, view: View): RepairTask {
    const { version } = s
    const source = s.sources.find((h) => h.live && !h.draining) ?? s.sources.find((h) => h.live)
    const candidates = view.servers.filter((h) => !version.holders.includes(h.id) && !h.dead)
    const [target] = source ? choosePlacement(candidates, 1, version.size, this.random) : []
    return task(version, s.copies, source, target)
  }

  /** One log line with the reason, which `dfs status` shows as the last error. */
  private failed(error: unknown, what: string): void {
    const message = reason(error)
    this.status.lastError = { at: this.clock.now(), message: `${what}: ${message}`.slice(0, JOB_MESSAGE_MAX) }
    this.log.warn({ err: error }, `${what}: ${message}`)
  }
}

/** Whether a candidate is short of R, and if so its copies that count and where copies could come from. */
function shortfall(version: FileVersion, view: View, replicas: number): Shortfall | undefined {
  // A draining server's copies do not count, but it may still be the source of the new ones.
  const copies = version.holders.filter((id) => {
    const server = view.byId.get(id)
    return server !== undefined && !server.dead && !server.draining
  })
  if (copies.length >= replicas) return undefined
  const sources = version.holders
    .map((id) => view.byId.get(id))
    .filter((s): s is ServerView => s !== undefined && !s.dead)
  return { version, copies, sources }
}

/** Fewest copies first; the sort is stable, so ties keep their (name, version) order. */
function mostEndangered(short: Shortfall[]): Shortfall[] {
  return [...short].sort((a, b) => a.copies.length - b.copies.length)
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
