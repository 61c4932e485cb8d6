// `npm run bench`: upload and download throughput of dfs, each next to a baseline measured in the same
// run on the same machine, because absolute figures on a shared machine do not repeat.
//
// Baselines (one hop, no replication):
// - node https: a minimal node:https server in a child process (this same script, started with
//   --baseline-server) that hashes an upload with sha256 and writes it to disk (4 MiB write buffer,
//   fsync, rename, directory fsync: what a file server does with one copy), and serves it back.
// - nginx: the same file served by nginx over TLS on loopback, if `nginx` is installed.
// dfs: a TestCluster with 3 file servers and 1 proxy; `dfs put` (CLI -> proxy -> primary -> replica,
// two copies fsynced) and `dfs get` (replica -> proxy -> CLI, sha256 checked by proxy and CLI).
//
// Every run puts a file with different content (the first bytes are rewritten), so no run is served
// from a copy an earlier run left behind. Runs interleave baseline and dfs (and alternate which goes
// first), so a noisy neighbour slows both rather than one. Transfers are timed from the client's
// side: the dfs figures include starting the CLI process; the fixed-cost rows show how much that is.
//
// Environment: BENCH_SIZE_MIB (default 512), BENCH_RUNS (default 3; medians are reported),
// BENCH_TIMEOUT_S (default 600: a single transfer that takes longer aborts the benchmark).
// Output: progress on stderr; the table, then one JSON line with the same figures, on stdout.
//
// `npm run bench -- --names` runs the namespace-scale benchmark instead (bench-names.ts).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream, createWriteStream, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createServer as createHttpsServer, request, type Server } from 'node:https'
import type { IncomingMessage } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { connect as tlsConnect } from 'node:tls'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TestCluster } from '../test/helpers/cluster.ts'
import { fsyncDir } from '../src/storage/disk-blob-store.ts'

const MiB = 1024 * 1024
const MB = 1000 * 1000
// A single transfer that takes longer than this (10 minutes by default) aborts the benchmark.
const TRANSFER_TIMEOUT_MS = envInt('BENCH_TIMEOUT_S', 600, 1) * 1000
const WRITE_BUFFER = 4 * MiB
const READ_BUFFER = MiB
const ROOT = resolve(import.meta.dirname, '..')

// ---------------------------------------------------------------------------------------------------
// The baseline server (child process)

/** Serves PUT /upload (hash, write, fsync, rename) and GET /blob.bin; exits when its stdin closes. */
async function baselineServer(dir: string): Promise<void> {
  const blob = join(dir, 'blob.bin')
  const server: Server = createHttpsServer(
    {
      cert: readFileSync(join(dir, 'server.crt')),
      key: readFileSync(join(dir, 'server.key')),
      // Transfers are bounded by the client (10 minutes), not by Node's 5-minute default.
      requestTimeout: 0,
    },
    (req, res) => {
      const fail = (error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(String(error))
      }
      if (req.method === 'PUT' && req.url === '/upload') {
        const tmp = join(dir, `tmp-${randomBytes(6).toString('hex')}`)
        const hash = createHash('sha256')
        let size = 0
        const hasher = new Transform({
          transform(chunk: Buffer, _encoding, callback: TransformCallback) {
            hash.update(chunk)
            size += chunk.length
            callback(null, chunk)
          },
        })
        const out = createWriteStream(tmp, { flags: 'wx', highWaterMark: WRITE_BUFFER, flush: true })
        pipeline(req, hasher, out)
          .then(() => rename(tmp, blob))
          .then(() => fsyncDir(dir))
          .then(() => {
            res.writeHead(200, { 'content-type': 'application/json' })
            res.end(JSON.stringify({ sha256: hash.digest('hex'), size }))
          })
          .catch(async (error: unknown) => {
            await rm(tmp, { force: true })
            fail(error)
          })
      } else if (req.method === 'GET' && req.url === '/blob.bin') {
        stat(blob)
          .then((info) => {
            res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': info.size })
            return pipeline(createReadStream(blob, { highWaterMark: READ_BUFFER }), res)
          }, fail)
          .catch(() => res.destroy()) // the client went away: nothing more to say to it
      } else {
        res.writeHead(404).end()
      }
    },
  )
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    process.stdout.write(`listening ${port}\n`)
  })
  // The parent holds our stdin: when it goes away, for whatever reason, so do we.
  process.stdin.resume()
  process.stdin.once('close', () => process.exit(0))
  process.stdin.once('end', () => process.exit(0))
}

// ---------------------------------------------------------------------------------------------------
// Clean-up that runs however the benchmark ends

const cleanups: (() => Promise<void>)[] = []
let cleaning: Promise<void> | undefined

function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn)
}

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn()
      } catch (error) {
        process.stderr.write(`bench: clean-up step failed: ${(error as Error).message}\n`)
      }
    }
  })()
  return cleaning
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be an integer >= ${min}, not ${raw}`)
  return value
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`)
}

/** Resident memory of a process and its direct children (nginx: master and worker), in bytes. */
function treeRss(pid: number | undefined): number {
  if (!pid) return 0
  let total = rss(pid)
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    for (const child of children ? children.split(/\s+/) : []) total += rss(Number(child))
  } catch {
    // gone, or not Linux
  }
  return total
}

function rss(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

const CLOCK_TICKS = clockTicks()

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
}

/** CPU seconds (user + system) a live process has used so far; 0 if it is gone. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // After "pid (comm) ": state is field 3, utime 14 and stime 15.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return 0
  }
}

/** CPU seconds of a process and its direct children (nginx: master and worker). */
function treeCpu(pid: number | undefined): number {
  if (!pid) return 0
  let total = cpuSeconds(pid)
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    for (const child of children ? children.split(/\s+/) : []) total += cpuSeconds(Number(child))
  } catch {
    // gone
  }
  return total
}

/** Measures the CPU seconds each named process uses until the returned function is called. */
function cpuMeter(pids: Record<string, number | undefined>): () => Record<string, number> {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpu(pid)]))
  return () =>
    Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpu(pid) - (start[name] ?? 0)]))
}

/** Measures this process's own CPU seconds (the baseline client runs here). */
function selfCpuMeter(): () => number {
  const start = process.cpuUsage()
  return () => {
    const used = process.cpuUsage(start)
    return (used.user + used.system) / 1e6
  }
}

/** Samples a process's RSS every 25 ms until the returned function is called, which returns the peak. */
function samplePeak(pid: number | undefined): () => number {
  let peak = treeRss(pid)
  const timer = setInterval(() => (peak = Math.max(peak, treeRss(pid))), 25)
  return () => {
    clearInterval(timer)
    return Math.max(peak, treeRss(pid))
  }
}

/** Rewrites the first bytes of a file so each run stores new content; returns the new sha256. */
async function makeDistinct(path: string): Promise<string> {
  const handle = await open(path, 'r+')
  try {
    await handle.write(randomBytes(32), 0, 32, 0)
  } finally {
    await handle.close()
  }
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: READ_BUFFER }))
    hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function freePort(): Promise<number> {
  const server = createNetServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  server.close()
  await once(server, 'close')
  return port
}

/** Waits for a child to exit; SIGTERM, then SIGKILL after a grace period (to its process group if detached). */
async function stopProcess(child: ChildProcess, graceMs = 5000, group = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (group && child.pid) process.kill(-child.pid, signal)
      else child.kill(signal)
    } catch {
      // already gone
    }
  }
  const exited = once(child, 'exit')
  kill('SIGTERM')
  const timer = setTimeout(() => kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
  if (group) kill('SIGKILL') // any worker the master left behind
}

// ---------------------------------------------------------------------------------------------------
// The baseline client: node:https, streaming both ways, trusting only the CA that issued the server's
// certificate.

interface Timed {
  seconds: number
}

function responseOf(req: ReturnType<typeof request>): Promise<IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    req.once('response', resolvePromise)
    // `on`, not `once`: an aborted request can emit more than one error, and each must be handled.
    req.on('error', reject)
  })
}

async function readText(response: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of response) {
    text += (chunk as Buffer).toString()
    if (text.length > MiB) throw new Error('answer too large')
  }
  return text
}

function timedOut(what: string): Error {
  return new Error(`${what} took more than ${TRANSFER_TIMEOUT_MS / 1000} s: aborted`)
}

async function httpsUpload(url: string, ca: string, file: string, expected: string): Promise<Timed> {
  const { size } = await stat(file)
  const signal = AbortSignal.timeout(TRANSFER_TIMEOUT_MS)
  const started = performance.now()
  const req = request(url, {
    method: 'PUT',
    ca,
    agent: false,
    signal,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
  })
  const answer = responseOf(req)
  // If the body fails, so does the answer: the pipeline's error is the one reported.
  answer.catch(() => undefined)
  let response: IncomingMessage
  let text: string
  try {
    await pipeline(createReadStream(file, { highWaterMark: READ_BUFFER }), req, { signal })
    response = await answer
    text = await readText(response)
  } catch (error) {
    throw signal.aborted ? timedOut('baseline upload') : error
  }
  const seconds = (performance.now() - started) / 1000
  if (response.statusCode !== 200) throw new Error(`baseline upload: HTTP ${response.statusCode}: ${text}`)
  const stored = JSON.parse(text) as { sha256: string; size: number }
  if (stored.sha256 !== expected || stored.size !== size)
    throw new Error(`baseline upload stored ${stored.size} bytes, sha256 ${stored.sha256}`)
  return { seconds }
}

/** Downloads into a file while hashing, as `dfs get` does (4 MiB write buffer, sha256 checked at the end). */
async function httpsDownload(url: string, ca: string, out: string, expected: string): Promise<Timed> {
  const signal = AbortSignal.timeout(TRANSFER_TIMEOUT_MS)
  const started = performance.now()
  const req = request(url, { method: 'GET', ca, agent: false, signal })
  req.end()
  const response = await responseOf(req).catch((error: unknown) => {
    throw signal.aborted ? timedOut(`baseline download ${url}`) : error
  })
  if (response.statusCode !== 200) {
    throw new Error(`baseline download ${url}: HTTP ${response.statusCode}: ${await readText(response)}`)
  }
  const hash = createHash('sha256')
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk)
      callback(null, chunk)
    },
  })
  try {
    await pipeline(response, hasher, createWriteStream(out, { flags: 'wx', highWaterMark: WRITE_BUFFER }), {
      signal,
    }).catch((error: unknown) => {
      throw signal.aborted ? timedOut(`baseline download ${url}`) : error
    })
    const seconds = (performance.now() - started) / 1000
    const actual = hash.digest('hex')
    if (actual !== expected)
      throw new Error(`baseline download ${url}: sha256 ${actual}, expected ${expected}`)
    return { seconds }
  } finally {
    await rm(out, { force: true })
  }
}

// ---------------------------------------------------------------------------------------------------
// Baseline processes

interface BaselineServer {
  url: string
  dir: string
  process: ChildProcess
}

async function startBaselineServer(dir: string): Promise<BaselineServer> {
  const child = spawn(process.execPath, [import.meta.filename, '--baseline-server', dir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  onCleanup(() => stopProcess(child))
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)))
  const port = await new Promise<number>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error('baseline server did not start in 30 s')), 30_000)
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /listening (\d+)/.exec(out)
      if (match?.[1]) {
        clearTimeout(timer)
        resolvePromise(Number(match[1]))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`baseline server exited (${code}) before listening: ${stderr.trim()}`))
    })
  })
  return { url: `https://localhost:${port}`, dir, process: child }
}

interface Nginx {
  url: string
  version: string
  process: ChildProcess
}

function commandPath(name: string): Promise<string | undefined> {
  return new Promise((resolvePromise) => {
    const child = spawn('sh', ['-c', `command -v ${name}`], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('error', () => resolvePromise(undefined))
    child.once('close', (code) => resolvePromise(code === 0 && out.trim() ? out.trim() : undefined))
  })
}

function nginxVersion(binary: string): Promise<string> {
  return new Promise((resolvePromise) => {
    const child = spawn(binary, ['-v'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.once('error', () => resolvePromise('unknown'))
    child.once('close', () => resolvePromise(/nginx\/(\S+)/.exec(err)?.[1] ?? 'unknown'))
  })
}

/** Starts nginx serving `root` over TLS on loopback, or explains why it could not. */
async function startNginx(
  binary: string,
  dir: string,
  root: string,
  ca: string,
): Promise<Nginx | { skipped: string }> {
  const version = await nginxVersion(binary)
  const port = await freePort()
  const q = (path: string) => JSON.stringify(path) // nginx accepts double-quoted strings
  const conf = join(dir, 'nginx.conf')
  await writeFile(
    conf,
    [
      'worker_processes 1;',
      `pid ${q(join(dir, 'nginx.pid'))};`,
      `error_log ${q(join(dir, 'error.log'))} warn;`,
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      // Debian's build points these at /var/lib/nginx, which an unprivileged user cannot use.
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (kind) => `  ${kind}_temp_path ${q(join(dir, kind))};`,
      ),
      '  default_type application/octet-stream;',
      '  sendfile on;',
      '  server {',
      `    listen 127.0.0.1:${port} ssl;`,
      `    ssl_certificate ${q(join(root, 'server.crt'))};`,
      `    ssl_certificate_key ${q(join(root, 'server.key'))};`,
      `    root ${q(root)};`,
      '    location = /blob.bin { }',
      '    location / { return 404; }',
      '  }',
      '}',
      '',
    ].join('\n'),
  )
  // Detached: its own process group, so the master and its worker can be stopped together.
  const child = spawn(binary, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  })
  onCleanup(() => stopProcess(child, 5000, true))
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)))
  const spawnError = new Promise<Error>((resolvePromise) => child.once('error', resolvePromise))
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')
      return { skipped: `nginx ${version} exited at start: ${(stderr || log).trim().split('\n').pop()}` }
    }
    const error = await Promise.race([spawnError, sleep(0).then(() => undefined)])
    if (error) return { skipped: `nginx could not be started: ${error.message}` }
    const ok = await new Promise<boolean>((resolvePromise) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca })
      socket.once('secureConnect', () => {
        socket.end()
        resolvePromise(true)
      })
      socket.once('error', () => resolvePromise(false))
    })
    if (ok) return { url: `https://localhost:${port}`, version, process: child }
    if (Date.now() > deadline) {
      await stopProcess(child, 5000, true)
      return { skipped: `nginx ${version} did not accept TLS on port ${port} in 10 s` }
    }
    await sleep(100)
  }
}

// ---------------------------------------------------------------------------------------------------
// The dfs CLI, timed and bounded. (TestCluster.run has no timeout or way to stop the CLI, so this runs
// it the same way, with the same environment, and kills it after TRANSFER_TIMEOUT_MS.)

interface CliRun {
  seconds: number
  peakRss: number
  /** CPU seconds of the CLI process, as last sampled before it exited (at most 25 ms short). */
  cpu: number
  stdout: string
}

/** CLI processes still running, for clean-up to kill if the benchmark is stopped mid-transfer. */
const runningCli = new Set<ChildProcess>()

function runDfs(cluster: TestCluster, args: string[]): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DFS_PROXY: cluster.proxy,
    DFS_DATA: cluster.data,
    DFS_CONFIG_DIR: join(cluster.root, 'cli-config'),
    DFS_USER: 'tester',
    DFS_PASSWORD: 'test-password',
  }
  delete env.NODE_TLS_REJECT_UNAUTHORIZED
  return new Promise((resolvePromise, reject) => {
    const started = performance.now()
    const child = spawn(cluster.invocation.command, [...cluster.invocation.prefix, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    runningCli.add(child)
    child.once('exit', () => runningCli.delete(child))
    let stdout = ''
    let stderr = ''
    let peakRss = 0
    let killed = false
    let cpu = 0
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rss(child.pid ?? 0, 'VmHWM'))
      cpu = Math.max(cpu, cpuSeconds(child.pid))
    }, 25)
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, TRANSFER_TIMEOUT_MS)
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    child.once('error', (error) => {
      clearInterval(sampler)
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code) => {
      const seconds = (performance.now() - started) / 1000
      clearInterval(sampler)
      clearTimeout(timer)
      if (killed) reject(timedOut(`dfs ${args.join(' ')}`))
      else if (code !== 0) reject(new Error(`dfs ${args.join(' ')} failed (${code}): ${stderr.trim()}`))
      else resolvePromise({ seconds, peakRss, cpu, stdout })
    })
  })
}

// ---------------------------------------------------------------------------------------------------
// The benchmark

interface Row {
  operation: string
  direction: 'upload' | 'download'
  bytes: number
  seconds: number[]
  /** Peak RSS in bytes, by process (e.g. "cli", "proxy 1", "baseline server"). */
  peakRss: Record<string, number>
  /** CPU seconds by process, summed over the runs; and the total of all processes, per run. */
  cpu: Record<string, number>
  cpuPerRun: number[]
  baseline?: string
  skipped?: string
}

function newRow(operation: string, direction: Row['direction'], bytes: number, baseline?: string): Row {
  return { operation, direction, bytes, seconds: [], peakRss: {}, cpu: {}, cpuPerRun: [], baseline }
}

function noteCpu(row: Row, used: Record<string, number>): void {
  let total = 0
  for (const [name, seconds] of Object.entries(used)) {
    row.cpu[name] = (row.cpu[name] ?? 0) + seconds
    total += seconds
  }
  row.cpuPerRun.push(total)
}

function notePeak(row: Row, name: string, bytes: number): void {
  row.peakRss[name] = Math.max(row.peakRss[name] ?? 0, bytes)
}

async function main(): Promise<void> {
  const sizeMiB = envInt('BENCH_SIZE_MIB', 512, 1)
  const runs = envInt('BENCH_RUNS', 3, 1)
  const size = sizeMiB * MiB
  const startedAt = Date.now()
  const loadAtStart = loadavg()

  try {
    await stat(join(ROOT, 'dist', 'index.js'))
  } catch {
    throw new Error('dist/ is missing: run npm run build first (bin/run.js runs the compiled code)')
  }
  const { TestCluster } = await import('../test/helpers/cluster.ts')
  const { randomFile } = await import('../test/helpers/files.ts')
  const { makeCa, issueNodeCert } = await import('../src/tls/ca.ts')

  const work = await mkdtemp(join(tmpdir(), 'dfs-bench-'))
  onCleanup(() => rm(work, { recursive: true, force: true }))
  const serverDir = join(work, 'baseline-server')
  const nginxDir = join(work, 'nginx')
  await mkdir(serverDir)
  await mkdir(nginxDir)

  progress(`${sizeMiB} MiB x ${runs} runs; writing a random file in ${work}`)
  const source = join(work, 'source.bin')
  await randomFile(source, size)

  // Baseline TLS material from the project's own CA code; the client trusts that CA and nothing else.
  const ca = makeCa()
  const pair = issueNodeCert(ca, { role: 'directory', id: 0 })
  await writeFile(join(serverDir, 'server.crt'), pair.cert)
  await writeFile(join(serverDir, 'server.key'), pair.key, { mode: 0o600 })

  const server = await startBaselineServer(serverDir)
  progress(`baseline server (node:https) at ${server.url}`)

  const nginxBinary = await commandPath('nginx')
  let nginx: Nginx | undefined
  let nginxSkipped: string | undefined
  if (!nginxBinary) {
    nginxSkipped = 'nginx is not installed (`command -v nginx` found nothing)'
  } else {
    const started = await startNginx(nginxBinary, nginxDir, serverDir, ca.cert)
    if ('skipped' in started) nginxSkipped = started.skipped
    else nginx = started
  }
  progress(nginx ? `nginx ${nginx.version} at ${nginx.url}` : `nginx row skipped: ${nginxSkipped}`)

  progress('starting a dfs cluster: directory, 3 file servers, 1 proxy')
  const cluster = await TestCluster.start({ fileservers: 3, proxies: 1 })
  onCleanup(() => cluster.stop())
  onCleanup(async () => {
    for (const child of runningCli) child.kill('SIGKILL')
  })

  const baseUp = newRow('baseline upload (node https)', 'upload', size)
  const baseDown = newRow('baseline download (node https)', 'download', size)
  const nginxDown = newRow('baseline download (nginx)', 'download', size)
  if (nginxSkipped) nginxDown.skipped = nginxSkipped
  const put = newRow('dfs put', 'upload', size, baseUp.operation)
  const get = newRow('dfs get', 'download', size, baseDown.operation)
  const putSmall = newRow('dfs put, 1 byte (fixed cost)', 'upload', 1)
  const getSmall = newRow('dfs get, 1 byte (fixed cost)', 'download', 1)

  // Warm-up, and the fixed cost of one CLI command (process start, oclif, session check, placement).
  const tiny = join(work, 'tiny.bin')
  await writeFile(tiny, 'x')
  await runDfs(cluster, ['put', tiny, 'bench/warmup', '--json'])
  await runDfs(cluster, ['get', 'bench/warmup', join(work, 'warmup.out'), '--json'])
  for (let run = 1; run <= runs; run++) {
    const small = await runDfs(cluster, ['put', tiny, `bench/tiny-${run}`, '--json'])
    putSmall.seconds.push(small.seconds)
    notePeak(putSmall, 'cli', small.peakRss)
    noteCpu(putSmall, { cli: small.cpu })
    const out = join(work, `tiny-${run}.out`)
    const back = await runDfs(cluster, ['get', `bench/tiny-${run}`, out, '--json'])
    getSmall.seconds.push(back.seconds)
    notePeak(getSmall, 'cli', back.peakRss)
    noteCpu(getSmall, { cli: back.cpu })
    await rm(out, { force: true })
  }
  const warm = await makeDistinct(source)
  await httpsUpload(`${server.url}/upload`, ca.cert, source, warm)
  await httpsDownload(`${server.url}/blob.bin`, ca.cert, join(work, 'warmup.down'), warm)

  const rate = (bytes: number, seconds: number) => `${(bytes / MB / seconds).toFixed(0)} MB/s`

  const baselineSteps = async (run: number, sha256: string) => {
    let stopPeak = samplePeak(server.process.pid)
    let stopCpu = cpuMeter({ 'baseline server': server.process.pid })
    let stopSelf = selfCpuMeter()
    const up = await httpsUpload(`${server.url}/upload`, ca.cert, source, sha256)
    baseUp.seconds.push(up.seconds)
    notePeak(baseUp, 'baseline server', stopPeak())
    noteCpu(baseUp, { 'baseline client': stopSelf(), ...stopCpu() })
    progress(`run ${run}: baseline upload ${up.seconds.toFixed(2)} s, ${rate(size, up.seconds)}`)

    stopPeak = samplePeak(server.process.pid)
    stopCpu = cpuMeter({ 'baseline server': server.process.pid })
    stopSelf = selfCpuMeter()
    const down = await httpsDownload(`${server.url}/blob.bin`, ca.cert, join(work, 'down.bin'), sha256)
    baseDown.seconds.push(down.seconds)
    notePeak(baseDown, 'baseline server', stopPeak())
    noteCpu(baseDown, { 'baseline client': stopSelf(), ...stopCpu() })
    progress(`run ${run}: baseline download ${down.seconds.toFixed(2)} s, ${rate(size, down.seconds)}`)

    if (nginx) {
      stopPeak = samplePeak(nginx.process.pid)
      stopCpu = cpuMeter({ nginx: nginx.process.pid })
      stopSelf = selfCpuMeter()
      const viaNginx = await httpsDownload(`${nginx.url}/blob.bin`, ca.cert, join(work, 'down.bin'), sha256)
      nginxDown.seconds.push(viaNginx.seconds)
      notePeak(nginxDown, 'nginx', stopPeak())
      noteCpu(nginxDown, { 'baseline client': stopSelf(), ...stopCpu() })
      progress(`run ${run}: nginx download ${viaNginx.seconds.toFixed(2)} s, ${rate(size, viaNginx.seconds)}`)
    }
  }

  const roles = (): Record<string, number | undefined> =>
    Object.fromEntries(
      [cluster.directory, ...cluster.fileservers.values(), ...cluster.proxies].map((c) => [
        c.name,
        c.process.pid,
      ]),
    )
  const dfsSteps = async (run: number, sha256: string) => {
    const name = `bench/file-${run}`
    let stopCpu = cpuMeter(roles())
    let stopRoles = cluster.sampleRss()
    const stored = await runDfs(cluster, ['put', source, name, '--json'])
    for (const [role, peak] of stopRoles()) notePeak(put, role, peak)
    noteCpu(put, { cli: stored.cpu, ...stopCpu() })
    put.seconds.push(stored.seconds)
    notePeak(put, 'cli', stored.peakRss)
    const version = JSON.parse(stored.stdout) as { sha256: string; size: number }
    if (version.sha256 !== sha256 || version.size !== size)
      throw new Error(`dfs put stored ${version.size} bytes, sha256 ${version.sha256}`)
    progress(`run ${run}: dfs put ${stored.seconds.toFixed(2)} s, ${rate(size, stored.seconds)}`)

    const out = join(work, `get-${run}.out`)
    stopCpu = cpuMeter(roles())
    stopRoles = cluster.sampleRss()
    const fetched = await runDfs(cluster, ['get', name, out, '--json'])
    for (const [role, peak] of stopRoles()) notePeak(get, role, peak)
    noteCpu(get, { cli: fetched.cpu, ...stopCpu() })
    get.seconds.push(fetched.seconds)
    notePeak(get, 'cli', fetched.peakRss)
    const got = JSON.parse(fetched.stdout) as { sha256: string; size: number }
    await rm(out, { force: true })
    if (got.sha256 !== sha256 || got.size !== size)
      throw new Error(`dfs get returned ${got.size} bytes, sha256 ${got.sha256}`)
    progress(`run ${run}: dfs get ${fetched.seconds.toFixed(2)} s, ${rate(size, fetched.seconds)}`)
  }

  for (let run = 1; run <= runs; run++) {
    // New content each run: nothing is served from what an earlier run stored.
    const sha256 = await makeDistinct(source)
    if (run % 2 === 1) {
      await baselineSteps(run, sha256)
      await dfsSteps(run, sha256)
    } else {
      await dfsSteps(run, sha256)
      await baselineSteps(run, sha256)
    }
  }

  report({
    sizeMiB,
    runs,
    rows: [baseUp, baseDown, nginxDown, put, get, putSmall, getSmall],
    nginxVersion: nginx?.version,
    elapsed: (Date.now() - startedAt) / 1000,
    loadAtStart,
  })
}

// ---------------------------------------------------------------------------------------------------
// Output

function report(result: {
  sizeMiB: number
  runs: number
  rows: Row[]
  nginxVersion?: string
  elapsed: number
  loadAtStart: number[]
}): void {
  const byName = new Map(result.rows.map((row) => [row.operation, row]))
  const mbps = (row: Row) => (row.seconds.length ? row.bytes / MB / median(row.seconds) : undefined)
  const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`
  const rssText = (row: Row) => {
    const entries = Object.entries(row.peakRss)
    if (!entries.length) return '-'
    const cli = row.peakRss.cli
    const roles = entries.filter(([name]) => name !== 'cli')
    if (cli === undefined || !roles.length)
      return entries.map(([name, bytes]) => `${name} ${mb(bytes)}`).join(', ')
    const [maxName, maxBytes] = roles.reduce((a, b) => (b[1] > a[1] ? b : a))
    return `cli ${mb(cli)}, max role ${mb(maxBytes)} (${maxName})`
  }

  const table: string[][] = [
    ['operation', 'MB/s', 'seconds', 'baseline MB/s', 'dfs/baseline', 'CPU s', 'peak RSS'],
  ]
  const cpuMedian = (row: Row) => (row.cpuPerRun.length ? median(row.cpuPerRun) : undefined)
  const json: Record<string, unknown>[] = []
  const addRow = (row: Row, baseline: Row | undefined, label = row.operation) => {
    const rate = mbps(row)
    const baseRate = baseline ? mbps(baseline) : undefined
    const ratio = rate !== undefined && baseRate !== undefined ? rate / baseRate : undefined
    if (row.skipped) {
      table.push([label, 'skipped', '-', '-', '-', '-', '-'])
      return
    }
    const large = row.bytes >= MiB
    table.push([
      label,
      large && rate !== undefined ? rate.toFixed(0) : '-',
      row.seconds.length ? median(row.seconds).toFixed(2) : '-',
      baseRate !== undefined
        ? `${baseRate.toFixed(0)} (${/\((.*)\)/.exec(baseline?.operation ?? '')?.[1] ?? ''})`
        : '-',
      ratio !== undefined ? ratio.toFixed(2) : '-',
      cpuMedian(row)?.toFixed(2) ?? '-',
      rssText(row),
    ])
  }
  const baseUp = byName.get('baseline upload (node https)')
  const baseDown = byName.get('baseline download (node https)')
  const nginxDown = byName.get('baseline download (nginx)')
  for (const row of result.rows) {
    const baseline = row.baseline ? byName.get(row.baseline) : undefined
    addRow(row, baseline)
    if (row.operation === 'dfs get' && nginxDown && !nginxDown.skipped)
      addRow(row, nginxDown, 'dfs get (vs nginx)')
    json.push({
      operation: row.operation,
      direction: row.direction,
      bytes: row.bytes,
      ...(row.skipped
        ? { skipped: row.skipped }
        : {
            seconds: row.seconds,
            medianSeconds: row.seconds.length ? median(row.seconds) : null,
            mbPerSecond: row.bytes >= MiB ? (mbps(row) ?? null) : null,
            baseline: row.baseline ?? null,
            ratio: baseline && mbps(row) !== undefined ? mbps(row)! / mbps(baseline)! : null,
            ...(row.operation === 'dfs get' && nginxDown && !nginxDown.skipped
              ? { ratioVsNginx: mbps(row)! / mbps(nginxDown)! }
              : {}),
            peakRssBytes: row.peakRss,
            cpuSecondsPerRun: row.cpuPerRun,
            cpuSecondsByProcess: Object.fromEntries(
              Object.entries(row.cpu).map(([name, total]) => [name, total / row.cpuPerRun.length]),
            ),
          }),
    })
  }

  const widths = table[0]!.map((_, col) => Math.max(...table.map((line) => line[col]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, col) =>
        col === 0 || col === cells.length - 1 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!),
      )
      .join('  ')
      .trimEnd()
  const cpuList = cpus()
  const machine = {
    node: process.version,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    kernel: release(),
    loadavgAtStart: result.loadAtStart.map((l) => Number(l.toFixed(2))),
    loadavgAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
    nginx: result.nginxVersion ?? null,
  }
  const out: string[] = []
  out.push('')
  out.push(
    `dfs bench: ${result.sizeMiB} MiB file, median of ${result.runs} run${result.runs === 1 ? '' : 's'}, ` +
      `MB = 10^6 bytes, ${result.elapsed.toFixed(0)} s in all`,
  )
  out.push(
    `machine: node ${machine.node}, ${machine.cpus} cpus (${machine.cpuModel}), ` +
      `${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, linux ${machine.kernel}, ` +
      `load average ${machine.loadavgAtStart.join(' ')} at the start, ${machine.loadavgAtEnd.join(' ')} at the end`,
  )
  out.push('')
  out.push(line(table[0]!))
  out.push(line(widths.map((w) => '-'.repeat(w))))
  for (const cells of table.slice(1)) out.push(line(cells))
  out.push('')
  for (const row of result.rows) {
    if (row.skipped) out.push(`${row.operation}: skipped: ${row.skipped}`)
  }
  for (const row of result.rows.filter((r) => r.operation === 'dfs put' || r.operation === 'dfs get')) {
    const peaks = Object.entries(row.peakRss)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, bytes]) => `${name} ${mb(bytes)}`)
      .join(', ')
    out.push(`peak RSS during ${row.operation}: ${peaks}`)
  }
  for (const row of result.rows.filter((r) => r.cpuPerRun.length)) {
    const shares = Object.entries(row.cpu)
      .filter(([, total]) => total / row.cpuPerRun.length >= 0.005)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, total]) => `${name} ${(total / row.cpuPerRun.length).toFixed(2)}`)
      .join(', ')
    out.push(`CPU s per transfer, ${row.operation}: ${shares}`)
  }
  out.push(
    `runs (s): ${result.rows
      .filter((row) => row.seconds.length)
      .map((row) => `${row.operation} [${row.seconds.map((s) => s.toFixed(2)).join(' ')}]`)
      .join('; ')}`,
  )
  if (baseUp && baseDown) {
    out.push(
      'dfs put = CLI -> proxy -> primary -> replica, 2 fsynced copies; baseline upload = 1 hop, 1 fsynced copy. ' +
        'dfs get = replica -> proxy -> CLI; baseline download = 1 hop. dfs times include starting the CLI. ' +
        'CPU s = user + system seconds of every process involved, per transfer (median).',
    )
  }
  out.push('')
  process.stdout.write(`${out.join('\n')}\n`)
  process.stdout.write(
    `${JSON.stringify({ bench: 'dfs', sizeMiB: result.sizeMiB, runs: result.runs, machine, rows: json })}\n`,
  )
}

// ---------------------------------------------------------------------------------------------------
// Entry point: the benchmark, or (as a child of it) the baseline server.

if (process.argv[2] === '--baseline-server') {
  await baselineServer(process.argv[3] ?? '')
} else {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, cleaning up\n`)
      void cleanUp().finally(() => process.exit(130))
    })
  }
  // A safety net: whatever escapes still stops every process and removes every directory.
  const crash = (error: unknown) => {
    process.stderr.write(`bench: failed: ${(error as Error)?.stack ?? String(error)}\n`)
    void cleanUp().finally(() => process.exit(1))
  }
  process.on('unhandledRejection', crash)
  process.on('uncaughtException', crash)
  let code = 0
  try {
    if (process.argv.includes('--names')) {
      // The namespace-scale benchmark: its own script, with the same clean-up and output habits.
      const { namesBench } = await import('./bench-names.ts')
      await namesBench({ onCleanup, progress })
    } else {
      await main()
    }
  } catch (error) {
    process.stderr.write(`bench: failed: ${(error as Error).message}\n`)
    code = 1
  } finally {
    await cleanUp()
  }
  process.exit(code)
}
