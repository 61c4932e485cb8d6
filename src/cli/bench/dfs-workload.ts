// The dfs half of the benchmark, shared by `dfs bench` (against the cluster the CLI is logged in to)
// and `npm run bench` (against a cluster it starts, next to baselines): whole files through the CLI
// and through the proxy's HTTP API, small files many in flight through the API, a shell loop of CLI
// processes, and the CLI's start-up. Everything it writes is under its own prefix and remembered, so
// removeAll() can take it away again.

import { createHash, randomBytes } from 'node:crypto'
import { open, rm, writeFile } from 'node:fs/promises'
import type { Agent } from 'node:https'
import { join } from 'node:path'
import type { CommittedVersion } from '../../protocol/types.ts'
import { sha256OfFile } from '../../streams/hash.ts'
import {
  downloadFile,
  inFlight,
  keepAliveAgent,
  smallRequest,
  uploadFile,
  type Endpoint,
} from './https-load.ts'
import { throughput, type Throughput } from './stats.ts'
import { timedRun, type Invocation } from './timed-run.ts'

export interface DfsTarget {
  /** The proxy's HTTPS API: its URL, the cluster CA, and the bearer token's header. */
  proxy: { url: string; ca: string; headers: Record<string, string> }
  /** How to run the dfs CLI, logged in to that proxy (by `env`, and `userArgs` on put and get). */
  cli: Invocation
  env: NodeJS.ProcessEnv
  userArgs: string[]
  /** A single transfer or CLI run that takes longer fails the benchmark. */
  timeoutMs: number
}

export interface Transfer {
  seconds: number
  sha256: string
  size: number
  /** Of the CLI process, for CLI transfers. */
  peakRss?: number
}

/** Small files put in one batch, kept to check what comes back. */
interface SmallSet {
  names: string[]
  bodies: Buffer[]
}

export class DfsWorkload {
  readonly prefix: string
  private readonly target: DfsTarget
  private readonly written = new Set<string>()
  private readonly small = new Map<string, SmallSet>()
  private agent?: Agent
  private sockets = 0

  constructor(target: DfsTarget, prefix: string) {
    this.target = target
    this.prefix = prefix
  }

  name(suffix: string): string {
    return `${this.prefix}${suffix}`
  }

  private filesUrl(name: string): string {
    return `${this.target.proxy.url}/v1/files?${new URLSearchParams({ name })}`
  }

  private endpoint(): Endpoint {
    return { ca: this.target.proxy.ca, headers: this.target.proxy.headers, timeoutMs: this.target.timeoutMs }
  }

  private keepAlive(sockets: number): Agent {
    if (!this.agent || this.sockets < sockets) {
      this.agent?.destroy()
      this.agent = keepAliveAgent(this.target.proxy.ca, sockets)
      this.sockets = sockets
    }
    return this.agent
  }

  private dfs(args: string[], timeoutMs = this.target.timeoutMs) {
    return timedRun(this.target.cli, args, { env: this.target.env, timeoutMs })
  }

  /** `dfs put LOCAL NAME`, as a user types it. */
  async cliPut(local: string, name: string, expected?: string): Promise<Transfer> {
    this.written.add(name)
    const run = await this.dfs(['put', local, name, '--json', ...this.target.userArgs])
    const version = JSON.parse(run.stdout) as CommittedVersion
    check(`dfs put ${name}`, version.sha256, expected)
    return { seconds: run.seconds, sha256: version.sha256, size: version.size, peakRss: run.peakRss }
  }

  /** `dfs get NAME LOCAL` into a new local file, removed afterwards. */
  async cliGet(name: string, out: string, expected: string): Promise<Transfer> {
    try {
      const run = await this.dfs(['get', name, out, '--json', ...this.target.userArgs])
      const got = JSON.parse(run.stdout) as { sha256: string; size: number }
      check(`dfs get ${name}`, got.sha256, expected)
      return { seconds: run.seconds, sha256: got.sha256, size: got.size ?? 0, peakRss: run.peakRss }
    } finally {
      await rm(out, { force: true })
    }
  }

  /**
   * PUT /v1/files of a local file. Without `declareLength` the body goes chunked, and the proxy keeps
   * no copy in its cache (it does only for a declared length), so the next read of it is cold there.
   */
  async apiPut(
    local: string,
    name: string,
    options: { expected?: string; declareLength?: boolean } = {},
  ): Promise<Transfer> {
    this.written.add(name)
    const declareLength = options.declareLength ?? true
    const sent = await uploadFile('PUT', this.filesUrl(name), local, this.endpoint(), {
      declareLength,
      hash: !declareLength && options.expected === undefined,
    })
    if (sent.status !== 200) throw new Error(`PUT ${name}: HTTP ${sent.status}: ${sent.text}`)
    const version = JSON.parse(sent.text) as CommittedVersion
    check(`PUT ${name}`, version.sha256, options.expected ?? sent.sha256)
    return { seconds: sent.seconds, sha256: version.sha256, size: version.size }
  }

  /** GET /v1/files into a local file while hashing, as `dfs get` does. */
  async apiGet(name: string, out: string, expected: string): Promise<Transfer> {
    const got = await downloadFile(this.filesUrl(name), out, this.endpoint())
    check(`GET ${name}`, got.sha256, expected)
    return { seconds: got.seconds, sha256: got.sha256, size: got.size }
  }

  /** `count` new files of `size` random bytes, `concurrency` in flight, through the API. */
  async smallPuts(tag: string, count: number, size: number, concurrency: number): Promise<Throughput> {
    const names = Array.from({ length: count }, (_, i) => this.name(`${tag}/${i}`))
    const bodies = names.map(() => randomBytes(size))
    this.small.set(tag, { names, bodies })
    for (const name of names) this.written.add(name)
    const agent = this.keepAlive(concurrency)
    const headers = { ...this.target.proxy.headers, 'content-type': 'application/octet-stream' }
    const run = await inFlight(count, concurrency, async (i) => {
      const answer = await smallRequest(agent, 'PUT', this.filesUrl(names[i]!), headers, bodies[i])
      if (answer.status !== 200) throw new Error(`PUT ${names[i]}: HTTP ${answer.status}: ${answer.body}`)
    })
    return throughput(run.latenciesMs, run.seconds)
  }

  /** Reads back, `concurrency` in flight, the files smallPuts(tag) wrote, checking every byte. */
  async smallGets(tag: string, concurrency: number): Promise<Throughput> {
    const set = this.small.get(tag)
    if (!set) throw new Error(`no small files put as ${tag}`)
    const agent = this.keepAlive(concurrency)
    const run = await inFlight(set.names.length, concurrency, async (i) => {
      const answer = await smallRequest(agent, 'GET', this.filesUrl(set.names[i]!), this.target.proxy.headers)
      if (answer.status !== 200) throw new Error(`GET ${set.names[i]}: HTTP ${answer.status}`)
      if (!answer.body.equals(set.bodies[i]!)) throw new Error(`GET ${set.names[i]}: other bytes came back`)
    })
    return throughput(run.latenciesMs, run.seconds)
  }

  /**
   * A shell loop: `dfs put` of `count` new local files of `size` bytes one after the other, a new
   * CLI process each; then (`get`) `dfs get` of each into a new local file.
   */
  async cliLoop(
    tag: string,
    count: number,
    size: number,
    work: string,
  ): Promise<{ put: Throughput; get: Throughput }> {
    const locals: string[] = []
    const shas: string[] = []
    for (let i = 0; i < count; i++) {
      const body = randomBytes(size)
      locals.push(join(work, `${tag}-${i}.in`))
      shas.push(createHash('sha256').update(body).digest('hex'))
      await writeFile(locals[i]!, body)
    }
    try {
      const names = locals.map((_, i) => this.name(`${tag}/${i}`))
      const loop = async (op: (i: number) => Promise<unknown>) => {
        const latenciesMs: number[] = []
        const started = performance.now()
        for (let i = 0; i < count; i++) {
          const one = performance.now()
          await op(i)
          latenciesMs.push(performance.now() - one)
        }
        return throughput(latenciesMs, (performance.now() - started) / 1000)
      }
      const put = await loop((i) => this.cliPut(locals[i]!, names[i]!, shas[i]))
      const get = await loop((i) => this.cliGet(names[i]!, join(work, `${tag}-${i}.out`), shas[i]!))
      return { put, get }
    } finally {
      await Promise.all(locals.map((local) => rm(local, { force: true })))
    }
  }

  /** How long `dfs --version` takes, `runs` times, in milliseconds. */
  async versionMs(runs: number): Promise<number[]> {
    const times: number[] = []
    for (let i = 0; i < runs; i++) times.push((await this.dfs(['--version'], 60_000)).seconds * 1000)
    return times
  }

  /** Removes every name this workload wrote (`concurrency` at once); returns how many. */
  async removeAll(concurrency = 16): Promise<number> {
    const names = [...this.written]
    const agent = this.keepAlive(concurrency)
    const failures: string[] = []
    await inFlight(names.length, concurrency, async (i) => {
      const answer = await smallRequest(agent, 'DELETE', this.filesUrl(names[i]!), this.target.proxy.headers)
      // Not found: it never got written (the benchmark failed before).
      if (answer.status !== 200 && answer.status !== 404) failures.push(`${names[i]}: HTTP ${answer.status}`)
      else this.written.delete(names[i]!)
    })
    if (failures.length)
      throw new Error(`could not remove ${failures.length} of ${names.length} names: ${failures[0]}`)
    return names.length
  }

  close(): void {
    this.agent?.destroy()
    this.agent = undefined
  }
}

function check(what: string, actual: string, expected: string | undefined): void {
  if (expected !== undefined && actual !== expected)
    throw new Error(`${what}: sha256 ${actual}, expected ${expected}`)
}

/** The six whole-file figures of one round. */
export interface LargeRound {
  cliPut: Transfer
  cliColdGet: Transfer
  cliCachedGet: Transfer
  apiPut: Transfer
  apiColdGet: Transfer
  apiCachedGet: Transfer
}

/**
 * One round of whole-file transfers of `source`, whose content changes before each file is written
 * (so no copy an earlier one left serves it): through the CLI, a put, then a cold get (of a file the
 * proxy has not cached: put without a length) and a cached get (the same again); then the same
 * three through the API. `beforeColdGet` may make the holders' copies cold too (page cache).
 */
export async function largeRound(
  workload: DfsWorkload,
  source: string,
  tag: string,
  work: string,
  options: { beforeColdGet?: (sha256: string) => Promise<void>; progress?: (line: string) => void } = {},
): Promise<LargeRound> {
  const say = options.progress ?? (() => undefined)
  const rate = (t: Transfer) => `${(t.size / 1e6 / t.seconds).toFixed(0)} MB/s`
  const out = (what: string) => join(work, `${tag}-${what}.out`)

  const cliPut = await workload.cliPut(source, workload.name(`${tag}/cli-put`), await distinct(source))
  say(`${tag}: dfs put ${rate(cliPut)}`)
  await rewriteHead(source)
  const cold = await workload.apiPut(source, workload.name(`${tag}/cli-cold`), { declareLength: false })
  await options.beforeColdGet?.(cold.sha256)
  const cliColdGet = await workload.cliGet(workload.name(`${tag}/cli-cold`), out('cli-cold'), cold.sha256)
  say(`${tag}: dfs get, cold ${rate(cliColdGet)}`)
  const cliCachedGet = await workload.cliGet(workload.name(`${tag}/cli-cold`), out('cli-cached'), cold.sha256)
  say(`${tag}: dfs get, cached ${rate(cliCachedGet)}`)

  const apiPut = await workload.apiPut(source, workload.name(`${tag}/api-put`), {
    expected: await distinct(source),
  })
  say(`${tag}: API PUT ${rate(apiPut)}`)
  await rewriteHead(source)
  const apiCold = await workload.apiPut(source, workload.name(`${tag}/api-cold`), { declareLength: false })
  await options.beforeColdGet?.(apiCold.sha256)
  const apiColdGet = await workload.apiGet(workload.name(`${tag}/api-cold`), out('api-cold'), apiCold.sha256)
  say(`${tag}: API GET, cold ${rate(apiColdGet)}`)
  const apiCachedGet = await workload.apiGet(
    workload.name(`${tag}/api-cold`),
    out('api-cached'),
    apiCold.sha256,
  )
  say(`${tag}: API GET, cached ${rate(apiCachedGet)}`)
  return { cliPut, cliColdGet, cliCachedGet, apiPut, apiColdGet, apiCachedGet }
}

/** Writes `size` random bytes to a new file, a MiB at a time. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'wx')
  try {
    for (let left = size; left > 0;) {
      const chunk = randomBytes(Math.min(left, 1024 * 1024))
      await handle.write(chunk)
      left -= chunk.length
    }
  } finally {
    await handle.close()
  }
}

/** Rewrites the first bytes of a file, so it is new content. */
export async function rewriteHead(path: string): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    await handle.write(randomBytes(32), 0, 32, 0)
  } finally {
    await handle.close()
  }
}

/** Makes the file new content and returns its sha256. */
export async function distinct(path: string): Promise<string> {
  await rewriteHead(path)
  return sha256OfFile(path)
}
