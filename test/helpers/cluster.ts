// Real clusters for tests: real dfs processes on loopback with real TLS, temp data dirs, and a CLI
// runner. Everything started here is stopped by stop(), which tests call in `after`.

import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { startChild, stopChild, type Child } from '../../src/cli/children.ts'
import type { Located } from '../../src/protocol/types.ts'

export const BIN = resolve(import.meta.dirname, '../../bin/run.js')

export interface Invocation {
  command: string
  prefix: string[]
}

export const nodeInvocation: Invocation = { command: process.execPath, prefix: [BIN] }

export interface RunResult {
  code: number | null
  stdout: Buffer
  stderr: string
  /** Peak resident memory of the CLI process in bytes (sampled from /proc while it ran). */
  peakRss: number
}

export interface ClusterOptions {
  fileservers?: number
  proxies?: number
  replicas?: number
  invocation?: Invocation
  liveAfter?: number
  /** Extra arguments for every proxy (e.g. --cache-size). */
  proxyArgs?: string[]
  directoryArgs?: string[]
  fileserverArgs?: string[]
  /** The roles' log level (default warn); info logs every request. */
  logLevel?: string
  /** Fixed ports (0 or absent: any free port), e.g. the seed's layout. */
  ports?: { directory?: number; fileservers?: number[]; proxies?: number[] }
  /** Extra environment for every role (e.g. DFS_BODY_TIMEOUT_MS for short timeouts). */
  env?: NodeJS.ProcessEnv
  /**
   * Directories serving the cluster (default 1); more than one need a shared store (DFS_METADATA in
   * `env`). Each has a data root of its own holding a copy of the first one's CA, as an operator
   * sets up a second directory; file servers and proxies are given every directory's URL.
   */
  directories?: number
  /**
   * The --directory that file servers and proxies are given, from the directories' URLs (default:
   * them) and the role it is for (`proxy 2`, `fileserver 1`).
   */
  directoryFlag?: (urls: string, role: string) => string
}

export class TestCluster {
  readonly root: string
  readonly invocation: Invocation
  directory!: Child
  /** Every directory: the first is `directory`. */
  readonly directories: Child[] = []
  readonly fileservers = new Map<number, Child>()
  readonly proxies: Child[] = []
  private readonly options: ClusterOptions

  private constructor(root: string, options: ClusterOptions) {
    this.root = root
    this.options = options
    this.invocation = options.invocation ?? nodeInvocation
  }

  static async start(options: ClusterOptions = {}): Promise<TestCluster> {
    const cluster = new TestCluster(await mkdtemp(join(tmpdir(), 'dfs-test-')), options)
    try {
      await cluster.startDirectory(options.ports?.directory ?? 0)
      for (let n = 2; n <= (options.directories ?? 1); n++) await cluster.startDirectory(0, n)
      await Promise.all(
        Array.from({ length: options.fileservers ?? 3 }, (_, i) => cluster.startFileServer(i + 1)),
      )
      for (let id = 1; id <= (options.proxies ?? 1); id++) {
        cluster.proxies.push(
          await cluster.spawn(`proxy ${id}`, [
            'proxy',
            '--id',
            String(id),
            '--port',
            String(options.ports?.proxies?.[id - 1] ?? 0),
            '--directory',
            cluster.directoryFlag(`proxy ${id}`),
            ...(options.proxyArgs ?? []),
          ]),
        )
      }
      await cluster.waitForLiveServers(options.fileservers ?? 3)
    } catch (error) {
      await cluster.stop()
      throw error
    }
    return cluster
  }

  /** What file servers and proxies are given as --directory. */
  directoryFlag(role: string): string {
    return this.options.directoryFlag?.(this.directoryUrls, role) ?? this.directoryUrls
  }

  get data(): string {
    return join(this.root, 'data')
  }

  /** Where file server `server` keeps the blob `sha` on disk. */
  blobPath(server: number, sha: string): string {
    return join(this.data, `fileserver-${server}`, 'objects', sha.slice(0, 2), sha)
  }

  get proxy(): string {
    const first = this.proxies[0]
    if (!first) throw new Error('no proxy started')
    return first.url
  }

  /** Every directory's URL, comma-separated, as `--directory` takes them. */
  get directoryUrls(): string {
    return this.directories.map((d) => d.url).join(',')
  }

  /** The data root of directory `n` (the first one shares the cluster's). */
  directoryData(n: number): string {
    return n === 1 ? this.data : join(this.root, `data-directory-${n}`)
  }

  private spawn(name: string, args: string[], data = this.data): Promise<Child> {
    return startChild({
      name,
      args: [...args, '--data', data],
      invocation: this.invocation,
      log: join(this.root, `${name.replace(' ', '-')}.log`),
      env: { ...process.env, DFS_LOG: this.options.logLevel ?? 'warn', ...this.options.env },
    })
  }

  /** Starts directory `n` (1: the first), again on `port` after a kill. */
  async startDirectory(port = 0, n = 1): Promise<Child> {
    const args = ['directory', '--port', String(port), '--replicas', String(this.options.replicas ?? 2)]
    if (this.options.liveAfter) args.push('--live-after', String(this.options.liveAfter))
    args.push(...(this.options.directoryArgs ?? []))
    const data = this.directoryData(n)
    // Another directory of the same cluster: the same CA, copied as the README says.
    if (n > 1) await cp(join(this.data, 'ca'), join(data, 'ca'), { recursive: true, force: false })
    const child = await this.spawn(n === 1 ? 'directory' : `directory ${n}`, args, data)
    this.directories[n - 1] = child
    if (n === 1) this.directory = child
    return child
  }

  async startFileServer(id: number, port = this.options.ports?.fileservers?.[id - 1] ?? 0): Promise<Child> {
    const child = await this.spawn(`fileserver ${id}`, [
      'fileserver',
      '--id',
      String(id),
      '--port',
      String(port),
      '--directory',
      this.directoryFlag(`fileserver ${id}`),
      '--heartbeat',
      '1',
      ...(this.options.fileserverArgs ?? []),
    ])
    this.fileservers.set(id, child)
    return child
  }

  /**
   * Runs the dfs CLI against this cluster's first proxy, as a logged-in test user (or, with
   * `invocation`, another program, a shell say, in the same environment).
   */
  async run(
    args: string[],
    options: {
      input?: Input
      env?: NodeJS.ProcessEnv
      proxy?: string
      closeStdout?: boolean
      invocation?: Invocation
    } = {},
  ): Promise<RunResult> {
    return runCli(options.invocation ?? this.invocation, args, {
      input: options.input,
      closeStdout: options.closeStdout,
      env: {
        DFS_PROXY: options.proxy ?? this.proxy,
        DFS_DATA: this.data,
        DFS_CONFIG_DIR: join(this.root, 'cli-config'),
        DFS_USER: 'tester',
        DFS_PASSWORD: 'test-password',
        ...options.env,
      },
    })
  }

  /**
   * The environment that makes `run` act as another user (registered at their first command), with
   * a CLI config of their own so their session is saved apart from the others'.
   */
  as(user: string, password = `${user}-password`): NodeJS.ProcessEnv {
    return { DFS_USER: user, DFS_PASSWORD: password, DFS_CONFIG_DIR: join(this.root, `cli-config-${user}`) }
  }

  /** `dfs stat NAME --json`, which must succeed. */
  async stat(name: string): Promise<Located> {
    const result = await this.run(['stat', name, '--json'])
    if (result.code !== 0) throw new Error(`dfs stat ${name} failed: ${result.stderr}`)
    return JSON.parse(result.stdout.toString()) as Located
  }

  async waitForLiveServers(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const result = await this.run(['status', '--json'])
      if (result.code === 0) {
        const status = JSON.parse(result.stdout.toString()) as { servers: { live: boolean }[] }
        if (status.servers.filter((s) => s.live).length >= count) return
      }
      if (Date.now() > deadline) throw new Error(`fewer than ${count} live file servers: ${result.stderr}`)
      await sleep(200)
    }
  }

  /** Samples the resident memory of every role until the returned function is called. */
  sampleRss(): () => Map<string, number> {
    const peaks = new Map<string, number>()
    const children = [this.directory, ...this.fileservers.values(), ...this.proxies]
    const timer = setInterval(() => {
      for (const child of children)
        peaks.set(child.name, Math.max(peaks.get(child.name) ?? 0, rssOf(child.process.pid)))
    }, 25)
    return () => {
      clearInterval(timer)
      return peaks
    }
  }

  /** Stops every role (SIGTERM, then SIGKILL), keeping the data. */
  async stopProcesses(): Promise<void> {
    const all = [...this.proxies, ...this.fileservers.values(), ...this.directories]
    await Promise.all(all.map((c) => stopChild(c, 5000)))
  }

  async stop(): Promise<void> {
    await this.stopProcesses()
    if (!process.env.DFS_KEEP_TEST_DATA) await rm(this.root, { recursive: true, force: true })
  }
}

/** A command's standard input: all at once, or a stream the test feeds at its own pace. */
type Input = Buffer | string | Readable

/**
 * Runs the CLI to completion. With `closeStdout`, the reader of its standard output goes away before
 * it writes anything, as `head -1` does after its line.
 */
export function runCli(
  invocation: Invocation,
  args: string[],
  options: { input?: Input; env?: NodeJS.ProcessEnv; closeStdout?: boolean } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, ...options.env }
    delete env.NODE_TLS_REJECT_UNAUTHORIZED
    const child = spawn(invocation.command, [...invocation.prefix, ...args], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const stdout: Buffer[] = []
    let stderr = ''
    let peakRss = 0
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssOf(child.pid, 'VmHWM'))
    }, 25)
    if (options.closeStdout) child.stdout.destroy()
    else child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(sampler)
      resolvePromise({ code, stdout: Buffer.concat(stdout), stderr, peakRss })
    })
    child.stdin.on('error', () => undefined)
    if (options.input instanceof Readable) options.input.pipe(child.stdin)
    else child.stdin.end(options.input ?? '')
  })
}

/** Resident memory (VmRSS, or the peak so far with VmHWM) of a live process in bytes; 0 if it is gone. */
export function rssOf(pid: number | undefined, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  if (!pid) return 0
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)
    return match?.[1] ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}
