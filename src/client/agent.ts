// How the nodes call each other: node:https with kept-alive connections, pinned to the cluster CA and
// presenting this node's own certificate (mutual TLS). Given a LiveTls, new connections use the
// certificate it holds now (renewed while the node runs).
//
// Node's own client rather than undici's package: the same CPU per call, but undici's parser is
// WebAssembly and its code a megabyte of source, which cost each role some 20 MB of its memory
// budget. What undici gave besides, this adds: a time limit to connect, to the answer's headers
// (per call) and between the bytes of its body.

import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions } from 'node:https'
import type { Duplex, Readable } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { boundedText } from '../streams/bounded-text.ts'
import { LiveTls } from '../tls/live-tls.ts'
import { CallTimeout } from './call-errors.ts'

export interface ClientTls {
  /** The cluster CA to trust. */
  ca: string
  /** Our own certificate and key, for mutual TLS between roles. */
  cert?: string
  key?: string
}

const CONNECT_TIMEOUT_MS = 5_000
/** How long an idle connection is kept (less, when the server says it keeps it less). */
const KEEP_ALIVE_MS = 10_000
/** Long transfers are bounded by progress, not by total time. */
const BODY_TIMEOUT_MS = 120_000
/** The most a JSON answer may hold (lists and inventory pages are paged well below). */
const MAX_TEXT = 32 * 1024 * 1024

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE'

export interface CallOptions {
  method?: Method
  headers?: Record<string, string>
  /** Sent whole (a string or Buffer), or streamed with backpressure. */
  body?: string | Buffer | Readable
  signal?: AbortSignal
  /** ms until the answer's headers arrive; none by default (a long poll, or an upload). */
  headersTimeout?: number
  /** ms the answer's body may go without a byte; 0 for none (an event stream). */
  bodyTimeout?: number
}

export interface Answer {
  statusCode: number
  headers: IncomingHttpHeaders
  body: IncomingMessage
}

/** A failure with a code as the network's own (network-failure.ts and failover.ts classify by it). */
function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code })
}

/** An https.Agent whose connections must be up (TLS included) in `connectTimeoutMs`. */
class TimedAgent extends HttpsAgent {
  private readonly material: () => ClientTls
  private readonly connectTimeoutMs: number

  constructor(options: AgentOptions, material: () => ClientTls, connectTimeoutMs: number) {
    super(options)
    this.material = material
    this.connectTimeoutMs = connectTimeoutMs
  }

  override createConnection(
    options: object,
    callback?: (error: Error | null, socket: Duplex) => void,
  ): Duplex {
    const { ca, cert, key } = this.material()
    const create = HttpsAgent.prototype.createConnection as unknown as (
      this: HttpsAgent,
      options: object,
      callback?: (error: Error | null, socket: Duplex) => void,
    ) => TLSSocket
    const socket = create.call(this, { ...options, ca, cert, key }, callback)
    const timer = setTimeout(
      () => socket.destroy(coded('timed out connecting', 'ETIMEDOUT')),
      this.connectTimeoutMs,
    )
    const clear = () => clearTimeout(timer)
    socket.once('secureConnect', clear)
    socket.once('close', clear)
    return socket
  }
}

export class NodeAgent {
  private readonly agent: TimedAgent

  constructor(tls: ClientTls | LiveTls, options: { connectTimeoutMs?: number } = {}) {
    let material = tls instanceof LiveTls ? tls.current : tls
    if (tls instanceof LiveTls) tls.onChange((next) => (material = next))
    this.agent = new TimedAgent(
      { keepAlive: true, timeout: KEEP_ALIVE_MS },
      () => material,
      options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    )
  }

  /**
   * Sends a request and resolves with the answer once its headers arrive, whatever its status; its
   * body is the caller's to read (or resume). A body sent as a stream may still be going out then.
   */
  request(url: string | URL, options: CallOptions = {}): Promise<Answer> {
    const { body, signal, headersTimeout = 0, bodyTimeout = BODY_TIMEOUT_MS } = options
    return new Promise<Answer>((resolve, reject) => {
      const req = httpsRequest(url, {
        method: options.method ?? (body === undefined ? 'GET' : 'PUT'),
        headers: options.headers,
        agent: this.agent,
        signal,
      })
      let answered = false
      const timer =
        headersTimeout > 0
          ? setTimeout(
              () => req.destroy(new CallTimeout(`no answer in time: ${String(url)}`)),
              headersTimeout,
            )
          : undefined
      req.once('response', (response) => {
        answered = true
        clearTimeout(timer)
        if (bodyTimeout > 0) {
          req.setTimeout(bodyTimeout, () =>
            req.destroy(coded('the answer stopped coming', 'ERR_BODY_TIMEOUT')),
          )
        }
        resolve({ statusCode: response.statusCode ?? 500, headers: response.headers, body: response })
      })
      // Once answered, a failure to send the rest of the body (the server stopped reading, as after
      // an early error) is not the outcome: the answer is, and its body reports a broken connection.
      // A kept connection that broke is not tried again here: the request may have been acted on
      // (the failover decides, by call). Idle connections close before the server's do (the agent's
      // timeout, or the server's Keep-Alive hint less a second), which keeps that race rare.
      req.on('error', (error) => {
        clearTimeout(timer)
        if (!answered) reject(error)
      })
      if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
        req.end(body)
      } else {
        send(body, req)
      }
    })
  }

  /** Closes every connection; calls still under way fail. */
  async close(): Promise<void> {
    this.agent.destroy()
  }
}

/**
 * Streams a body into a request with backpressure, from the moment the connection is up (a kept one
 * at once, a new one once TLS is through): a connection refused has taken no byte of the body, so a
 * caller may send it elsewhere (the proxy's placement retries, streams/lend.ts). A body that fails
 * fails the request, and a request that ends before the body does (an early answer, a broken
 * connection) destroys the body, so its producer stops. What stream.pipeline does, without the
 * AbortController it aborts on every finish, whose DOMException costs a small write about a tenth of
 * a millisecond. A body that runs past its declared length, or ends short of it, fails the request
 * before a wrong byte count reaches the wire.
 */
function send(body: Readable, req: ClientRequest): void {
  const declared = req.getHeader('content-length')
  const length = declared === undefined ? undefined : Number(declared)
  let sent = 0
  const mismatch = () => coded(`a body of ${sent}+ bytes for a declared ${length}`, 'ERR_BODY_LENGTH')
  // The headers wait for the first bytes of the body (or its end): one TLS write carries both.
  req.cork()
  let corked = true
  const uncork = () => {
    if (corked) process.nextTick(() => req.uncork())
    corked = false
  }
  const start = () => {
    // Before pipe()'s own listener: a chunk past the length never reaches the request.
    body.on('data', (chunk: Buffer) => {
      uncork()
      sent += chunk.length
      if (length !== undefined && sent > length) req.destroy(mismatch())
    })
    body.once('end', () => {
      uncork()
      if (length !== undefined && sent !== length) req.destroy(mismatch())
    })
    body.once('close', uncork)
    body.pipe(req)
  }
  req.once('socket', (socket) => {
    if (socket.connecting) socket.once('secureConnect', start)
    else start()
  })
  body.on('error', (error) => req.destroy(error))
  req.once('close', () => {
    if (!body.readableEnded) body.destroy()
  })
}

export function makeAgent(tls: ClientTls | LiveTls): NodeAgent {
  return new NodeAgent(tls)
}

/** A (JSON) answer's body as text, bounded (see streams/bounded-text.ts). */
export async function text(body: Readable): Promise<string> {
  const answer = await boundedText(body, MAX_TEXT)
  if (answer === undefined) throw coded(`an answer of more than ${MAX_TEXT} bytes`, 'ERR_ANSWER_TOO_LARGE')
  return answer
}
