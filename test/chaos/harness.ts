// The seeded chaos harness (issue #6): a real cluster (directory, 4 file servers, 2 proxies) under a
// schedule of SIGKILLs, restarts, SIGSTOP/SIGCONT pauses and flipped blob bytes, while client lanes
// write and read through both proxies. It checks, always: a successful read returns bytes some client
// wrote to that name, never older than an acknowledged write; once the faults stop, every kept
// version gets R good copies and every corrupted blob is found, within a bound; and every name then
// reads back its last acknowledged write, byte for byte.

import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startChild, type Child } from '../../src/cli/children.ts'
import type { ProxyStatus } from '../../src/client/proxy-client.ts'
import type { FileVersion } from '../../src/protocol/types.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { sha256, sha256File } from '../helpers/files.ts'
import { History } from './history.ts'
import { content } from './prng.ts'
import { planRounds, type Fault, type Op, type Round, type ScheduleConfig, type Target } from './schedule.ts'

const FILESERVERS = 4
const PROXIES = 2
const REPLICAS = 2
const DEAD_AFTER_MS = 3000
/** A client that has not finished by then is killed and counted as failed (and as a timeout). */
const CLI_TIMEOUT_MS = 45_000
/** Once the faults stop, the cluster has this long to make every copy whole again. */
const CONVERGE_TIMEOUT_MS = 90_000
// A small cache, so reads go to the file servers too, not only to the proxies' disks.
const PROXY_ARGS = ['--cache-size', '4MiB']
/** Inventory, garbage collection and scrubbing every second, as in the repair tests. */
const FAST_FILESERVER = [
  '--inventory-every',
  '1s',
  '--gc-grace',
  '2s',
  '--scrub-every',
  '1s',
  '--scrub-rate',
  '500MB',
]

export const SCHEDULE: ScheduleConfig = {
  fileservers: FILESERVERS,
  proxies: PROXIES,
  lanes: 2,
  maxDisrupted: FILESERVERS - REPLICAS,
  deadAfterMs: DEAD_AFTER_MS,
}

export interface ChaosSummary {
  seed: number
  rounds: number
  writesAcked: number
  writesFailed: number
  /** Names that did not hold their last acknowledged write at the end. */
  writesLost: number
  /** Writes whose client saw a failure, yet whose commit went through (allowed: outcome unknown). */
  writesUnackedVisible: number
  readsOk: number
  readsFailed: number
  corruptReads: number
  staleReads: number
  clientTimeouts: number
  /** Faults applied, by kind and role ('kill fileserver', 'pause directory', ...). */
  faults: Record<string, number>
  corruptionsInjected: number
  /** Corrupted copies the file servers moved to quarantine. */
  corruptionsFound: number
  /** Corrupted copies gone otherwise: collected as garbage, or overwritten by a repair. */
  corruptionsGone: number
  /** Copies made by the directory's repair, summed over its restarts (read just before each kill). */
  repairs: number
  /** Seconds from the end of the faults until every copy was whole again. */
  fullReplicationSeconds: number
  seconds: number
  failureCodes: Record<string, number>
}

interface CliResult {
  code: number | null
  stdout: Buffer
  stderr: string
  timedOut: boolean
}

interface Corruption {
  server: number
  sha256: string
  at: number
}

export class ChaosRun {
  readonly seed: number
  readonly rounds: Round[]
  readonly problems: string[] = []
  readonly summary: ChaosSummary
  private readonly cluster: TestCluster
  private readonly history = new History()
  private readonly log: (line: string) => void
  private readonly corrupted = new Map<string, Corruption>()
  private readonly paused = new Set<Child>()
  private readonly clients = new Set<ChildProcess>()
  private readonly abort = new AbortController()
  private readonly hashes = new Map<string, { mtimeMs: number; size: number; sha256: string }>()
  private running?: Promise<unknown>
  private repairsBefore = 0
  private readonly started = Date.now()

  private constructor(cluster: TestCluster, seed: number, rounds: number, log: (line: string) => void) {
    this.cluster = cluster
    this.seed = seed
    this.rounds = planRounds(seed, rounds, SCHEDULE)
    this.log = log
    this.summary = {
      seed,
      rounds,
      writesAcked: 0,
      writesFailed: 0,
      writesLost: 0,
      writesUnackedVisible: 0,
      readsOk: 0,
      readsFailed: 0,
      corruptReads: 0,
      staleReads: 0,
      clientTimeouts: 0,
      faults: {},
      corruptionsInjected: 0,
      corruptionsFound: 0,
      corruptionsGone: 0,
      repairs: 0,
      fullReplicationSeconds: NaN,
      seconds: 0,
      failureCodes: {},
    }
  }

  static async start(options: {
    seed: number
    rounds: number
    log?: (line: string) => void
  }): Promise<ChaosRun> {
    const cluster = await TestCluster.start({
      fileservers: FILESERVERS,
      proxies: PROXIES,
      replicas: REPLICAS,
      liveAfter: 2,
      proxyArgs: PROXY_ARGS,
      directoryArgs: ['--dead-after', `${DEAD_AFTER_MS}ms`, '--repair-every', '500ms'],
      fileserverArgs: FAST_FILESERVER,
    })
    const log = options.log ?? (() => undefined)
    log(`cluster in ${cluster.root} (kept after the run with DFS_KEEP_TEST_DATA=1)`)
    return new ChaosRun(cluster, options.seed, options.rounds, log)
  }

  private get aborted(): boolean {
    return this.abort.signal.aborted
  }

  /** Runs the schedule, lets the cluster heal, and checks everything; problems end up in `problems`. */
  execute(): Promise<void> {
    this.running ??= this.executeOnce()
    return this.running as Promise<void>
  }

  private async executeOnce(): Promise<void> {
    try {
      for (const round of this.rounds) {
        if (this.aborted) return
        await this.round(round)
        this.checkAlive(`after round ${round.index}`)
      }
      await this.restoreAll()
      const healed = Date.now()
      if (await this.converge()) this.summary.fullReplicationSeconds = (Date.now() - healed) / 1000
      if (this.aborted) return
      await this.finalReads()
      this.checkAlive('at the end')
      const status = await this.status()
      this.summary.repairs = this.repairsBefore + (status?.repair.repaired ?? NaN)
    } finally {
      this.summary.seconds = (Date.now() - this.started) / 1000
    }
  }

  /** Stops everything this run started, whatever state it is in; safe to call more than once. */
  async close(): Promise<void> {
    this.abort.abort()
    for (const client of this.clients) client.kill('SIGKILL')
    await this.running?.catch(() => undefined)
    for (const child of this.paused) child.process.kill('SIGCONT')
    this.paused.clear()
    await this.cluster.stop()
  }

  private async round(round: Round): Promise<void> {
    const start = Date.now()
    this.log(`round ${round.index}: ${round.faults.map(describeFault).join(', ') || 'no faults'}`)
    // allSettled: nothing of a round may still run once the round is over (or the run is closed).
    const results = await Promise.allSettled([
      ...round.faults.map((fault) => this.fault(fault, start)),
      ...round.lanes.map((ops, lane) => this.lane(ops, lane, start)),
    ])
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw new Error(`round ${round.index} broke the harness`, { cause: failed.reason })
  }

  private async lane(ops: Op[], lane: number, roundStart: number): Promise<void> {
    for (const op of ops) {
      await this.wait(roundStart + op.atMs - Date.now())
      if (this.aborted) return
      if (op.kind === 'write') await this.write(op, lane)
      else await this.read(op, lane)
    }
  }

  private async write(op: Extract<Op, { kind: 'write' }>, lane: number): Promise<void> {
    const data = content(`write ${op.id} of ${op.name}`, op.contentSeed, op.size)
    const record = this.history.beginWrite(op.id, op.name, data, Date.now())
    const args = ['put', '-', op.name, ...(op.force ? ['--force', '--wait', '30s', '--ttl', '10s'] : [])]
    const result = await this.cli(args, { proxy: op.proxy, lane, input: data })
    this.history.endWrite(record, result.code === 0, Date.now())
    if (result.code === 0) this.summary.writesAcked++
    else this.failed(`write ${op.id} of ${op.name}`, result)
  }

  private async read(op: Extract<Op, { kind: 'read' }>, lane: number): Promise<void> {
    const startedAt = Date.now()
    const result = await this.cli(['get', op.name, '-'], { proxy: op.proxy, lane })
    if (result.code !== 0) {
      this.failed(`read of ${op.name}`, result)
      const acked = this.history.ackedBefore(op.name, startedAt)
      if (acked && /no such file/.test(result.stderr))
        this.problem(`read of ${op.name} found no such file after write ${acked.id} was acknowledged`)
      return
    }
    const verdict = this.history.checkRead(op.name, startedAt, result.stdout)
    if (verdict.ok) {
      this.summary.readsOk++
      return
    }
    if (verdict.kind === 'corrupt') this.summary.corruptReads++
    else this.summary.staleReads++
    this.problem(`${verdict.kind} read through proxy ${op.proxy + 1}: ${verdict.detail}`)
  }

  /** A failed client move: expected under faults, counted by error code, and logged for the curious. */
  private failed(what: string, result: CliResult): void {
    const kind = what.startsWith('read') ? 'read' : 'write'
    if (kind === 'read') this.summary.readsFailed++
    else this.summary.writesFailed++
    if (result.timedOut) this.summary.clientTimeouts++
    const code = result.timedOut
      ? 'timeout'
      : (/DFS_[A-Z_]+/.exec(result.stderr)?.[0] ?? `exit ${result.code}`)
    const key = `${kind} ${code}`
    this.summary.failureCodes[key] = (this.summary.failureCodes[key] ?? 0) + 1
    this.log(`  ${what} failed: ${result.timedOut ? 'timed out' : result.stderr.trim().split('\n').pop()}`)
  }

  private problem(message: string): void {
    this.log(`PROBLEM (seed ${this.seed}): ${message}`)
    this.problems.push(message)
  }

  // ---- faults

  private async fault(fault: Fault, roundStart: number): Promise<void> {
    await this.wait(roundStart + fault.atMs - Date.now())
    if (this.aborted) return
    if (fault.kind === 'corrupt') return this.corrupt(fault)
    const key = `${fault.kind} ${fault.target.role}`
    this.summary.faults[key] = (this.summary.faults[key] ?? 0) + 1
    if (fault.kind === 'kill') return this.kill(fault.target, fault.forMs)
    return this.pause(fault.target, fault.forMs)
  }

  private childOf(target: Target): Child {
    const child =
      target.role === 'directory'
        ? this.cluster.directory
        : target.role === 'fileserver'
          ? this.cluster.fileservers.get(target.id)
          : this.cluster.proxies[target.id - 1]
    if (!child) throw new Error(`no ${target.role} ${'id' in target ? target.id : ''}`)
    return child
  }

  private async kill(target: Target, forMs: number): Promise<void> {
    // Repair counts restart from zero with the directory: keep what this one has counted so far.
    if (target.role === 'directory') this.repairsBefore += (await this.status())?.repair.repaired ?? 0
    const child = this.childOf(target)
    child.process.kill('SIGKILL')
    await child.exited
    await this.wait(forMs)
    if (!this.aborted) await this.restart(target, Number(new URL(child.url).port))
  }

  /** Starts a killed process again: a file server anywhere, the directory and proxies where they were. */
  private async restart(target: Target, port: number): Promise<void> {
    if (target.role === 'fileserver') await this.cluster.startFileServer(target.id)
    else if (target.role === 'directory') await this.cluster.startDirectory(port)
    else this.cluster.proxies[target.id - 1] = await this.startProxy(target.id, port)
  }

  /** As TestCluster starts its proxies, on a given port (clients keep their URL). */
  private startProxy(id: number, port: number): Promise<Child> {
    return startChild({
      name: `proxy ${id}`,
      args: [
        'proxy',
        '--id',
        String(id),
        '--port',
        String(port),
        '--directory',
        this.cluster.directory.url,
        ...PROXY_ARGS,
        '--data',
        this.cluster.data,
      ],
      invocation: this.cluster.invocation,
      log: join(this.cluster.root, `proxy-${id}.log`),
      env: { ...process.env, DFS_LOG: 'warn' },
    })
  }

  private async pause(target: Target, forMs: number): Promise<void> {
    const child = this.childOf(target)
    child.process.kill('SIGSTOP')
    this.paused.add(child)
    try {
      await this.wait(forMs)
    } finally {
      child.process.kill('SIGCONT')
      this.paused.delete(child)
    }
  }

  /**
   * Flips bits of one byte of a blob in place. A blob is corrupted at most once in a run, and only
   * while another server holds a good copy: destroying every copy is data loss no design survives.
   */
  private async corrupt(fault: Extract<Fault, { kind: 'corrupt' }>): Promise<void> {
    const blobs = (await this.blobsOn(fault.server)).filter((sha) => !this.corrupted.has(sha))
    const sha = blobs[Math.floor(fault.pick * blobs.length)]
    if (!sha || !(await this.goodCopyElsewhere(fault.server, sha))) return
    let handle
    try {
      handle = await open(this.blobPath(fault.server, sha), 'r+')
    } catch {
      return // collected as garbage meanwhile
    }
    try {
      const { size } = await handle.stat()
      if (size === 0) return
      const at = Math.floor(fault.offset * size)
      const byte = Buffer.alloc(1)
      await handle.read(byte, 0, 1, at)
      byte[0] = (byte[0] ?? 0) ^ fault.mask
      await handle.write(byte, 0, 1, at)
    } finally {
      await handle.close()
    }
    this.hashes.delete(this.blobPath(fault.server, sha))
    this.corrupted.set(sha, { server: fault.server, sha256: sha, at: Date.now() })
    this.summary.corruptionsInjected++
  }

  private async blobsOn(server: number): Promise<string[]> {
    const objects = join(this.cluster.data, `fileserver-${server}`, 'objects')
    const found: string[] = []
    for (const prefix of (await readdir(objects).catch(() => [])).sort()) {
      for (const name of (await readdir(join(objects, prefix)).catch(() => [])).sort()) found.push(name)
    }
    return found
  }

  private async goodCopyElsewhere(server: number, sha: string): Promise<boolean> {
    for (let other = 1; other <= FILESERVERS; other++) {
      if (other !== server && (await this.hashOf(this.blobPath(other, sha))) === sha) return true
    }
    return false
  }

  private blobPath(server: number, sha: string): string {
    return join(this.cluster.data, `fileserver-${server}`, 'objects', sha.slice(0, 2), sha)
  }

  /** The sha256 of a file (remembered while its size and mtime stay put); undefined if absent. */
  private async hashOf(path: string): Promise<string | undefined> {
    try {
      const { mtimeMs, size } = await stat(path)
      const known = this.hashes.get(path)
      if (known && known.mtimeMs === mtimeMs && known.size === size) return known.sha256
      const sha256 = await sha256File(path)
      this.hashes.set(path, { mtimeMs, size, sha256 })
      return sha256
    } catch {
      return undefined
    }
  }

  /** Sleeps, but wakes at once when the run is closed. */
  private async wait(ms: number): Promise<void> {
    if (ms > 0) await sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined)
  }

  /** Every round brings back what it stopped: a process found dead between rounds died on its own. */
  private checkAlive(when: string): void {
    for (const child of [
      this.cluster.directory,
      ...this.cluster.fileservers.values(),
      ...this.cluster.proxies,
    ]) {
      if (exited(child))
        this.problem(
          `${child.name} exited on its own ${when} (${child.process.exitCode ?? child.process.signalCode})`,
        )
    }
  }

  /** After the faults: every process running, none paused (rounds leave none down; this makes sure). */
  private async restoreAll(): Promise<void> {
    for (const child of this.paused) child.process.kill('SIGCONT')
    this.paused.clear()
    const targets: Target[] = [
      { role: 'directory' },
      ...[...this.cluster.fileservers.keys()].map((id): Target => ({ role: 'fileserver', id })),
      ...this.cluster.proxies.map((_, i): Target => ({ role: 'proxy', id: i + 1 })),
    ]
    for (const target of targets) {
      const child = this.childOf(target)
      if (exited(child)) await this.restart(target, Number(new URL(child.url).port))
    }
  }

  // ---- after the faults

  /** Waits, bounded, until every kept version has R good copies and every corruption is found. */
  private async converge(): Promise<boolean> {
    const deadline = Date.now() + CONVERGE_TIMEOUT_MS
    let outstanding = await this.outstanding()
    while (outstanding.length > 0 && Date.now() < deadline) {
      if (this.aborted) return false
      await this.wait(500)
      outstanding = await this.outstanding()
    }
    if (outstanding.length === 0) return true
    this.problem(
      `copies not whole ${CONVERGE_TIMEOUT_MS / 1000}s after the faults stopped: ${outstanding.slice(0, 8).join('; ')}${
        outstanding.length > 8 ? ` (and ${outstanding.length - 8} more)` : ''
      }`,
    )
    return false
  }

  /** What is still not whole; empty once the cluster has healed. */
  private async outstanding(): Promise<string[]> {
    const status = await this.status()
    if (!status) return ['dfs status failed']
    const issues: string[] = []
    for (const server of status.servers)
      if (!server.live || server.dead) issues.push(`file server ${server.id} not live`)
    if (status.repair.underReplicated > 0 || status.repair.lost > 0)
      issues.push(`repair: ${status.repair.underReplicated} under-replicated, ${status.repair.lost} lost`)
    const files = await this.json<FileVersion[]>(['ls', 'chaos/', '--json'])
    if (!files) return [...issues, 'dfs ls failed']
    for (const file of files) issues.push(...(await this.copyIssues(file)))
    for (const corruption of this.corrupted.values()) {
      const issue = await this.corruptionIssue(corruption)
      if (issue) issues.push(issue)
    }
    if (issues.length > 0) return issues
    // The current versions are whole: now every kept version of every name.
    await inParallel(files, 3, async (file) => {
      const versions = await this.json<FileVersion[]>(['log', file.name, '--json'])
      if (!versions) issues.push(`dfs log ${file.name} failed`)
      for (const version of versions ?? []) issues.push(...(await this.copyIssues(version)))
    })
    return issues
  }

  private async copyIssues(version: FileVersion): Promise<string[]> {
    const what = `${version.name} v${version.version}`
    if (version.holders.length < REPLICAS) return [`${what} has ${version.holders.length} holders`]
    const issues: string[] = []
    for (const id of version.holders) {
      const sha = await this.hashOf(this.blobPath(id, version.sha256))
      if (sha !== version.sha256)
        issues.push(`${what}: file server ${id} ${sha ? 'has bad bytes' : 'lacks it'}`)
    }
    return issues
  }

  private async corruptionIssue(corruption: Corruption): Promise<string | undefined> {
    const quarantine = join(this.cluster.data, `fileserver-${corruption.server}`, 'quarantine')
    const path = this.blobPath(corruption.server, corruption.sha256)
    if ((await readdir(quarantine).catch(() => [])).some((f) => f.startsWith(corruption.sha256))) return
    if (!existsSync(path) || (await this.hashOf(path)) === corruption.sha256) return
    return `corrupt ${corruption.sha256.slice(0, 12)} on file server ${corruption.server} not found yet`
  }

  /** Every name, read once through alternating proxies, must hold what the history allows. */
  private async finalReads(): Promise<void> {
    await inParallel(this.history.names(), 3, (name, index, worker) =>
      this.finalRead(name, index % PROXIES, worker),
    )
    for (const corruption of this.corrupted.values()) {
      const quarantine = join(this.cluster.data, `fileserver-${corruption.server}`, 'quarantine')
      if ((await readdir(quarantine).catch(() => [])).some((f) => f.startsWith(corruption.sha256)))
        this.summary.corruptionsFound++
      else this.summary.corruptionsGone++
    }
  }

  private async finalRead(name: string, proxy: number, lane: number): Promise<void> {
    const result = await this.cli(['get', name, '-'], { proxy, lane: `final-${lane}` })
    const gone = result.code !== 0 && /no such file/.test(result.stderr)
    if (result.code !== 0 && !gone) {
      this.problem(`final read of ${name} failed: ${result.timedOut ? 'timed out' : result.stderr.trim()}`)
      return
    }
    const verdict = this.history.checkFinal(name, gone ? undefined : sha256(result.stdout))
    if (!verdict.ok) {
      this.summary.writesLost++
      this.problem(`lost write: ${verdict.detail}`)
      return
    }
    if (verdict.unacked) this.summary.writesUnackedVisible++
    const write = verdict.write
    if (write) {
      const op = this.opOf(write.id)
      const expected = content(`write ${op.id} of ${op.name}`, op.contentSeed, op.size)
      if (!expected.equals(result.stdout))
        this.problem(`final read of ${name} differs from write ${write.id}`)
    }
  }

  private opOf(id: number): Extract<Op, { kind: 'write' }> {
    for (const round of this.rounds)
      for (const ops of round.lanes) for (const op of ops) if (op.kind === 'write' && op.id === id) return op
    throw new Error(`no write ${id} in the schedule`)
  }

  // ---- the CLI

  private status(): Promise<ProxyStatus | undefined> {
    return this.json<ProxyStatus>(['status', '--json'])
  }

  private async json<T>(args: string[]): Promise<T | undefined> {
    const result = await this.cli(args, { proxy: 0, lane: 'check' })
    return result.code === 0 ? (JSON.parse(result.stdout.toString()) as T) : undefined
  }

  /** Runs the dfs CLI as the chaos user through one proxy; killed if it outlives CLI_TIMEOUT_MS. */
  private cli(
    args: string[],
    options: { proxy: number; lane: number | string; input?: Buffer },
  ): Promise<CliResult> {
    const proxy = this.cluster.proxies[options.proxy]
    if (!proxy) throw new Error(`no proxy ${options.proxy}`)
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DFS_PROXY: proxy.url,
      DFS_DATA: this.cluster.data,
      DFS_CONFIG_DIR: join(this.cluster.root, `chaos-client-${options.lane}`),
      DFS_USER: 'chaos',
      DFS_PASSWORD: 'chaos-password',
    }
    delete env.NODE_TLS_REJECT_UNAUTHORIZED
    const { command, prefix } = this.cluster.invocation
    return new Promise((resolve, reject) => {
      const child = spawn(command, [...prefix, ...args], {
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: CLI_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      })
      this.clients.add(child)
      const stdout: Buffer[] = []
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      child.on('error', reject)
      child.on('close', (code, signal) => {
        this.clients.delete(child)
        resolve({ code, stdout: Buffer.concat(stdout), stderr, timedOut: signal === 'SIGKILL' })
      })
      child.stdin.on('error', () => undefined)
      child.stdin.end(options.input ?? '')
    })
  }
}

function exited(child: Child): boolean {
  return child.process.exitCode !== null || child.process.signalCode !== null
}

/** Runs `task` over `items`, `workers` at a time. */
async function inParallel<T>(
  items: readonly T[],
  workers: number,
  task: (item: T, index: number, worker: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async (id: number) => {
    for (let index = next++; index < items.length; index = next++) await task(items[index] as T, index, id)
  }
  await Promise.all(Array.from({ length: workers }, (_, id) => worker(id)))
}

function describeFault(fault: Fault): string {
  if (fault.kind === 'corrupt') return `+${fault.atMs}ms corrupt a blob on fileserver ${fault.server}`
  const who = fault.target.role === 'directory' ? 'the directory' : `${fault.target.role} ${fault.target.id}`
  return `+${fault.atMs}ms ${fault.kind} ${who} for ${fault.forMs}ms`
}

/** The summary as a two-column table, for the console. */
export function formatSummary(summary: ChaosSummary): string {
  const rows: [string, string][] = [
    ['seed', String(summary.seed)],
    ['rounds', String(summary.rounds)],
    ['writes acknowledged', String(summary.writesAcked)],
    ['writes failed', String(summary.writesFailed)],
    ['writes lost', String(summary.writesLost)],
    ['failed writes that took effect', String(summary.writesUnackedVisible)],
    ['reads ok', String(summary.readsOk)],
    ['reads failed', String(summary.readsFailed)],
    ['corrupt reads', String(summary.corruptReads)],
    ['stale reads', String(summary.staleReads)],
    ['client timeouts', String(summary.clientTimeouts)],
    ...Object.entries(summary.faults)
      .sort()
      .map(([fault, count]): [string, string] => [`faults: ${fault}`, String(count)]),
    ['corruptions injected', String(summary.corruptionsInjected)],
    ['corruptions found (quarantined)', String(summary.corruptionsFound)],
    ['corruptions gone otherwise', String(summary.corruptionsGone)],
    ['repairs', String(summary.repairs)],
    ['time to full replication (s)', summary.fullReplicationSeconds.toFixed(1)],
    ['run time (s)', summary.seconds.toFixed(1)],
    ...Object.entries(summary.failureCodes)
      .sort()
      .map(([code, count]): [string, string] => [`failed: ${code}`, String(count)]),
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  const line = `+${'-'.repeat(width + 2)}+${'-'.repeat(12)}+`
  return [line, ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v.padStart(10)} |`), line].join('\n')
}
