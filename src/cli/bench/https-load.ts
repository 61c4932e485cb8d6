// The benchmark's HTTPS client, the same for dfs's proxy API and for the baselines it is measured
// against: whole files streamed one connection each (node:https, as the CLI does), and many small
// requests in flight over kept-alive connections. Each trusts only the CA it is given.

import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { Agent, request } from 'node:https'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'

const MiB = 1024 * 1024
const READ_BUFFER = MiB
const WRITE_BUFFER = 4 * MiB
const MAX_TEXT = MiB

export interface Endpoint {
  ca: string
  headers?: Record<string, string>
  timeoutMs: number
}

export interface Uploaded {
  seconds: number
  status: number
  text: string
  /** Of the bytes sent, when asked for (hashing costs the client time, so timed uploads do not). */
  sha256?: string
}

export interface Downloaded {
  seconds: number
  sha256: string
  size: number
}

function responseOf(req: ReturnType<typeof request>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    req.once('response', resolve)
    // `on`, not `once`: an aborted request can emit more than one error, and each must be handled.
    req.on('error', reject)
  })
}

async function readText(response: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of response) {
    text += (chunk as Buffer).toString()
    if (text.length > MAX_TEXT) throw new Error('answer too large')
  }
  return text
}

function hasher(hash: ReturnType<typeof createHash>, count: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk)
      count(chunk.length)
      callback(null, chunk)
    },
  })
}

function timedOut(what: string, ms: number): Error {
  return new Error(`${what} took more than ${ms / 1000} s: aborted`)
}

/**
 * PUTs a local file, timed from the first byte sent to the whole answer read. With `declareLength`
 * false the body goes chunked, with no length (as from a pipe).
 */
export async function uploadFile(
  method: 'PUT',
  url: string,
  file: string,
  endpoint: Endpoint,
  options: { declareLength?: boolean; hash?: boolean } = {},
): Promise<Uploaded> {
  const { size } = await stat(file)
  const signal = AbortSignal.timeout(endpoint.timeoutMs)
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...endpoint.headers }
  if (options.declareLength !== false) headers['content-length'] = String(size)
  const started = performance.now()
  const req = request(url, { method, ca: endpoint.ca, agent: false, signal, headers })
  const answer = responseOf(req)
  // If the body fails, so does the answer: the pipeline's error is the one reported.
  answer.catch(() => undefined)
  const hash = options.hash ? createHash('sha256') : undefined
  const body = createReadStream(file, { highWaterMark: READ_BUFFER })
  try {
    if (hash)
      await pipeline(
        body,
        hasher(hash, () => undefined),
        req,
        { signal },
      )
    else await pipeline(body, req, { signal })
    const response = await answer
    const text = await readText(response)
    return {
      seconds: (performance.now() - started) / 1000,
      status: response.statusCode ?? 0,
      text,
      ...(hash ? { sha256: hash.digest('hex') } : {}),
    }
  } catch (error) {
    throw signal.aborted ? timedOut(`upload to ${url}`, endpoint.timeoutMs) : error
  }
}

/** GETs into a local file while hashing, as `dfs get` does; the file is removed afterwards. */
export async function downloadFile(url: string, out: string, endpoint: Endpoint): Promise<Downloaded> {
  const signal = AbortSignal.timeout(endpoint.timeoutMs)
  const started = performance.now()
  const req = request(url, {
    method: 'GET',
    ca: endpoint.ca,
    agent: false,
    signal,
    headers: endpoint.headers,
  })
  req.end()
  const fail = (error: unknown) => {
    throw signal.aborted ? timedOut(`download of ${url}`, endpoint.timeoutMs) : error
  }
  const response = await responseOf(req).catch(fail)
  if (response.statusCode !== 200) {
    throw new Error(`download of ${url}: HTTP ${response.statusCode}: ${await readText(response)}`)
  }
  const hash = createHash('sha256')
  let size = 0
  try {
    await pipeline(
      response,
      hasher(hash, (n) => (size += n)),
      createWriteStream(out, { flags: 'wx', highWaterMark: WRITE_BUFFER }),
      { signal },
    ).catch(fail)
    return { seconds: (performance.now() - started) / 1000, sha256: hash.digest('hex'), size }
  } finally {
    await rm(out, { force: true })
  }
}

/** Kept-alive connections for many small requests at once, trusting only `ca`. */
export function keepAliveAgent(ca: string, sockets: number): Agent {
  return new Agent({ ca, keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets })
}

export interface SmallAnswer {
  status: number
  body: Buffer
}

/** One small request over `agent`, its whole answer read. */
export function smallRequest(
  agent: Agent,
  method: 'GET' | 'PUT' | 'DELETE',
  url: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<SmallAnswer> {
  return new Promise((resolve, reject) => {
    const all = body ? { ...headers, 'content-length': String(body.length) } : headers
    const req = request(url, { method, agent, headers: all })
    req.once('response', (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }))
      response.once('error', reject)
    })
    req.once('error', reject)
    req.end(body)
  })
}

/**
 * Runs `op(0)` .. `op(count - 1)` with `concurrency` in flight, each timed; the first failure stops
 * the rest and is thrown.
 */
export async function inFlight(
  count: number,
  concurrency: number,
  op: (index: number) => Promise<void>,
): Promise<{ seconds: number; latenciesMs: number[] }> {
  const latenciesMs: number[] = []
  let next = 0
  let failed = false
  const worker = async () => {
    while (!failed && next < count) {
      const index = next++
      const started = performance.now()
      try {
        await op(index)
      } catch (error) {
        failed = true
        throw error
      }
      latenciesMs.push(performance.now() - started)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return { seconds: (performance.now() - started) / 1000, latenciesMs }
}
