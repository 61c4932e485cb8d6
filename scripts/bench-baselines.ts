// The baselines `npm run bench` measures dfs against, in the same run on the same machine:
// - node https: a minimal node:https server in a child process (bench.ts started with
//   --baseline-server). A whole-file PUT is hashed with sha256 and written with a 4 MiB buffer,
//   fsynced, renamed and its directory fsynced (what a file server does with one copy); a small PUT
//   goes to a file of its own the same way (temp file, fsync, rename, directory fsync). GETs are
//   served from those files.
// - nginx over TLS on loopback, if `nginx` is installed: WebDAV PUT (`dav_methods PUT`, which writes
//   a temp file and renames it, with no fsync) and static GET (sendfile), one worker, from a config
//   in a temp dir, stopped at the end.
// Also here: making a file cold (out of the page cache) and the one-request-per-process client of
// the shell-loop rows.

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream, createWriteStream, readFileSync } from 'node:fs'
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createServer as createHttpsServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { join } from 'node:path'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { connect as tlsConnect } from 'node:tls'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { inFlight, keepAliveAgent, smallRequest } from '../src/cli/bench/https-load.ts'
import { throughput, type Throughput } from '../src/cli/bench/stats.ts'
import { timedRun } from '../src/cli/bench/timed-run.ts'
import { fsyncDir } from '../src/storage/disk-blob-store.ts'

const MiB = 1024 * 1024
const WRITE_BUFFER = 4 * MiB
const READ_BUFFER = MiB

export type OnCleanup = (fn: () => Promise<void>) => void

// ---------------------------------------------------------------------------------------------------
// The node https baseline server (child process)

/** Serves PUT /upload and GET /blob.bin (one whole file), PUT and GET /small/N; exits when stdin closes. */
export async function baselineServer(dir: string): Promise<void> {
  const blob = join(dir, 'blob.bin')
  const smallDir = join(dir, 'small')
  await mkdir(smallDir, { recursive: true })
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
      const small = /^\/small\/([\w.-]+)$/.exec(req.url ?? '')?.[1]
      if (req.method === 'PUT' && req.url === '/upload') putWhole(req, res, dir, blob).catch(fail)
      else if (req.method === 'GET' && req.url === '/blob.bin') getWhole(res, blob, fail)
      else if (req.method === 'PUT' && small) putSmall(req, res, smallDir, small).catch(fail)
      else if (req.method === 'GET' && small) getSmall(res, join(smallDir, small)).catch(fail)
      else res.writeHead(404).end()
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

async function putWhole(req: IncomingMessage, res: ServerResponse, dir: string, blob: string): Promise<void> {
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
  try {
    await pipeline(req, hasher, out)
    await rename(tmp, blob)
    await fsyncDir(dir)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ sha256: hash.digest('hex'), size }))
}

function getWhole(res: ServerResponse, blob: string, fail: (error: unknown) => void): void {
  stat(blob)
    .then((info) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': info.size })
      return pipeline(createReadStream(blob, { highWaterMark: READ_BUFFER }), res)
    }, fail)
    .catch(() => res.destroy()) // the client went away: nothing more to say to it
}

async function putSmall(req: IncomingMessage, res: ServerResponse, dir: string, name: string): Promise<void> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`)
  const handle = await open(tmp, 'wx')
  try {
    await handle.writeFile(Buffer.concat(chunks))
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(tmp, join(dir, name))
  await fsyncDir(dir)
  res.writeHead(201).end()
}

async function getSmall(res: ServerResponse, path: string): Promise<void> {
  let body: Buffer
  try {
    body = await readFile(path)
  } catch {
    res.writeHead(404).end()
    return
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
  res.end(body)
}

export interface BaselineServer {
  url: string
  dir: string
  /** The whole file PUT /upload stores. */
  blob: string
  process: ChildProcess
}

export async function startBaselineServer(
  script: string,
  dir: string,
  onCleanup: OnCleanup,
): Promise<BaselineServer> {
  const child = spawn(process.execPath, [script, '--baseline-server', dir], {
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
  return { url: `https://localhost:${port}`, dir, blob: join(dir, 'blob.bin'), process: child }
}

// ---------------------------------------------------------------------------------------------------
// nginx

export interface Nginx {
  url: string
  version: string
  /** Where PUT /dav/X stores X (and GET /dav/X serves it from). */
  davDir: string
  process: ChildProcess
}

export function commandPath(name: string): Promise<string | undefined> {
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

/** Starts nginx with WebDAV PUT and static GET over TLS on loopback, or says why it could not. */
export async function startNginx(
  binary: string,
  dir: string,
  tls: { cert: string; key: string; ca: string },
  onCleanup: OnCleanup,
): Promise<Nginx | { skipped: string }> {
  const version = await nginxVersion(binary)
  const port = await freePort()
  const root = join(dir, 'www')
  const davDir = join(root, 'dav')
  await mkdir(davDir, { recursive: true })
  const q = (path: string) => JSON.stringify(path) // nginx accepts double-quoted strings
  const conf = join(dir, 'nginx.conf')
  await writeFile(
    conf,
    [
      // As root, the worker would run as nobody, who cannot read our 0700 temp dirs.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'worker_processes 1;',
      `pid ${q(join(dir, 'nginx.pid'))};`,
      `error_log ${q(join(dir, 'error.log'))} warn;`,
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      // Debian's build points these at /var/lib/nginx; on the same file system as the root, a PUT
      // is a rename, not a copy.
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (kind) => `  ${kind}_temp_path ${q(join(dir, kind))};`,
      ),
      '  default_type application/octet-stream;',
      '  sendfile on;',
      '  keepalive_requests 1000000;',
      '  server {',
      `    listen 127.0.0.1:${port} ssl;`,
      `    ssl_certificate ${q(tls.cert)};`,
      `    ssl_certificate_key ${q(tls.key)};`,
      `    root ${q(root)};`,
      '    client_max_body_size 0;',
      '    location /dav/ { dav_methods PUT; create_full_put_path on; dav_access user:rw; }',
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
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: tls.ca })
      socket.once('secureConnect', () => {
        socket.end()
        resolvePromise(true)
      })
      socket.once('error', () => resolvePromise(false))
    })
    if (ok) return { url: `https://localhost:${port}`, version, davDir, process: child }
    if (Date.now() > deadline) {
      await stopProcess(child, 5000, true)
      return { skipped: `nginx ${version} did not accept TLS on port ${port} in 10 s` }
    }
    await sleep(100)
  }
}

/** Waits for a child to exit; SIGTERM, then SIGKILL after a grace period (to its process group if detached). */
export async function stopProcess(child: ChildProcess, graceMs = 5000, group = false): Promise<void> {
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
// Cold files, small files, and one request per process

const run = promisify(execFile)

/**
 * Takes one file out of the page cache (written back first, then dropped with
 * POSIX_FADV_DONTNEED by GNU dd), so the next read comes from the disk. Only that file: the rest of
 * the machine keeps its cache.
 */
export async function dropFromPageCache(path: string): Promise<void> {
  await run('sync', [path])
  await run('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none'])
}

/** `count` PUTs of new `size`-byte files, then GETs of them, `concurrency` in flight, over kept-alive TLS. */
export async function smallBaseline(
  urlOf: (index: number) => string,
  ca: string,
  options: { count: number; size: number; concurrency: number },
): Promise<{ put: Throughput; get: Throughput }> {
  const bodies = Array.from({ length: options.count }, () => randomBytes(options.size))
  const agent = keepAliveAgent(ca, options.concurrency)
  try {
    const headers = { 'content-type': 'application/octet-stream' }
    const put = await inFlight(options.count, options.concurrency, async (i) => {
      const answer = await smallRequest(agent, 'PUT', urlOf(i), headers, bodies[i])
      if (answer.status !== 201 && answer.status !== 204)
        throw new Error(`PUT ${urlOf(i)}: HTTP ${answer.status}: ${answer.body}`)
    })
    const get = await inFlight(options.count, options.concurrency, async (i) => {
      const answer = await smallRequest(agent, 'GET', urlOf(i))
      if (answer.status !== 200 || !answer.body.equals(bodies[i]!))
        throw new Error(`GET ${urlOf(i)}: HTTP ${answer.status}, ${answer.body.length} bytes`)
    })
    return { put: throughput(put.latenciesMs, put.seconds), get: throughput(get.latenciesMs, get.seconds) }
  } finally {
    agent.destroy()
  }
}

/** The simplest Node program that sends one file (PUT) or fetches one (GET) over TLS, then exits. */
const ONE_REQUEST = `
const [method, url, file, caFile] = process.argv.slice(1)
const https = require('node:https'), fs = require('node:fs')
const body = method === 'PUT' ? fs.readFileSync(file) : undefined
const headers = body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {}
const req = https.request(url, { method, headers, ca: fs.readFileSync(caFile) }, (res) => {
  if (res.statusCode >= 300) process.exitCode = 1
  if (method === 'GET') res.pipe(fs.createWriteStream(file))
  else res.resume()
})
req.on('error', (error) => { console.error(error.message); process.exitCode = 1 })
req.end(body)
`

/**
 * A shell loop of one-request Node processes: `count` PUTs of new `size`-byte local files, one
 * process each, then `count` GETs into new local files.
 */
export async function loopBaseline(
  urlOf: (index: number) => string,
  caFile: string,
  work: string,
  options: { count: number; size: number; timeoutMs: number },
): Promise<{ put: Throughput; get: Throughput }> {
  const node = { command: process.execPath, prefix: ['-e', ONE_REQUEST] }
  const locals = Array.from({ length: options.count }, (_, i) => join(work, `loop-${i}.in`))
  const bodies = locals.map(() => randomBytes(options.size))
  await Promise.all(locals.map((local, i) => writeFile(local, bodies[i]!)))
  const loop = async (method: 'PUT' | 'GET') => {
    const latenciesMs: number[] = []
    const started = performance.now()
    for (let i = 0; i < options.count; i++) {
      const file = method === 'PUT' ? locals[i]! : `${locals[i]}.out`
      const one = await timedRun(node, [method, urlOf(i), file, caFile], { timeoutMs: options.timeoutMs })
      latenciesMs.push(one.seconds * 1000)
      if (method === 'GET') {
        if (!(await readFile(file)).equals(bodies[i]!))
          throw new Error(`GET ${urlOf(i)}: other bytes came back`)
        await rm(file, { force: true })
      }
    }
    return throughput(latenciesMs, (performance.now() - started) / 1000)
  }
  try {
    const put = await loop('PUT')
    const get = await loop('GET')
    return { put, get }
  } finally {
    await Promise.all(locals.map((local) => rm(local, { force: true })))
  }
}
