// Builds the Fastify app every role starts from: HTTPS with the cluster's TLS material, bounded
// requests (limits.ts), one error shape for every failure, raw streaming bodies for file bytes, and
// a health route.

import type { Server as HttpsServer } from 'node:https'
import type { PeerCertificate, TLSSocket } from 'node:tls'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import { codeForStatus, DfsError, type ErrorBody, type ErrorCode } from '../protocol/errors.ts'
import { idleTimeout } from '../streams/idle-timeout.ts'
import type { TlsMaterial } from '../tls/ca-files.ts'
import { serverIdentity } from '../tls/live-tls.ts'
import { describeIdentity, identityOf, ROLES, type NodeIdentity, type Role } from '../tls/identity.ts'
import { answerClientErrors } from './client-errors.ts'
import { nestsDeeperThan } from './json-depth.ts'
import { discardRestOfBody } from './linger.ts'
import { UnsatisfiableRange } from '../protocol/byte-range.ts'
import { requestLimits, type RequestLimits } from './limits.ts'
import { checkMediaType, hasBody } from './media-types.ts'
import { Metrics, serveMetrics } from './metrics.ts'
import { logOptions } from './log-format.ts'

/**
 * Which node roles may call each route, as `METHOD /url` (the route's pattern): one table per
 * role's app, checked before anything else. A route missing from it is refused to everyone.
 */
export type AccessTable = Record<string, readonly Role[] | 'public'>

export interface AppOptions {
  role: string
  id?: number
  tls?: TlsMaterial
  /**
   * Node-to-node routes: every call must come with a certificate from the cluster CA naming a role
   * the access table allows ('optional' lets a TLS handshake without one through, for the public
   * routes: joining). Absent: the routes are for users (the proxy), who present bearer tokens.
   */
  nodes?: {
    access: AccessTable
    certificates: 'required' | 'optional'
    /** Whether a certificate (by serial) was revoked: its node was removed. */
    revoked?: (serial: string) => boolean
  }
  /** Who called, from the verified peer certificate; tests hand in their own. */
  identify?: (request: FastifyRequest) => NodeIdentity | undefined
  logLevel?: string
  /** Bounds on every request: the defaults, then DFS_*_TIMEOUT_MS from the environment, then these. */
  limits?: Partial<RequestLimits>
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The node that called, as its certificate says (node-to-node routes only). */
    node?: NodeIdentity
  }
  interface FastifyInstance {
    /** The role's Prometheus metrics (GET /metrics): a role adds its own figures here. */
    metrics: Metrics
  }
}

/**
 * Each connection's peer certificate, parsed once: every request on a kept-alive connection asked
 * for it again, a tenth of the directory's time under many small writes. It cannot change while
 * the connection lasts, as servers refuse renegotiation (see createApp).
 */
const peers = new WeakMap<object, PeerCertificate>()

/** The caller's certificate, if TLS verified it against the cluster CA. */
export function verifiedPeer(request: FastifyRequest): PeerCertificate | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>
  if (socket.authorized !== true) return undefined
  let peer = peers.get(socket)
  if (!peer) {
    peer = socket.getPeerCertificate?.()
    if (peer) peers.set(socket, peer)
  }
  return peer
}

/** The identity in the verified peer certificate. */
export function peerIdentity(request: FastifyRequest): NodeIdentity | undefined {
  return identityOf(verifiedPeer(request))
}

/** Refuses a node that speaks for another: file server N may only say things about N. */
export function speaksFor(request: FastifyRequest, role: Role, id: number): void {
  const node = request.node
  if (node?.role === role && node.id !== id) {
    throw new DfsError('DFS_FORBIDDEN', `${describeIdentity(node)} may not speak for ${role} ${id}`)
  }
}

export function createApp(options: AppOptions): FastifyInstance {
  const limits = requestLimits(options.limits)
  const server = {
    headersTimeout: limits.headersTimeoutMs,
    // Node looks for late headers this often (every 30 s by default, which would stretch the bound).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, limits.headersTimeoutMs / 4)),
    maxHeaderSize: limits.headerBytes,
  }
  const base = {
    logger: logOptions(options.role, options.id, options.logLevel),
    // One line a request, when it is answered (below), not two.
    logController: new LogController({ disableRequestLogging: true }),
    // Not in total: a body is bounded by its progress (idleTimeout below), a 10 GiB upload by nothing else.
    requestTimeout: 0,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    bodyLimit: limits.jsonBytes,
    clientErrorHandler: answerClientErrors(limits),
    return503OnClosing: true,
    // A URL that is not valid percent-encoding gets the one error shape too.
    frameworkErrors: (error: Error & { code?: string }, _request: FastifyRequest, reply: FastifyReply) => {
      const bad =
        error.code === 'FST_ERR_BAD_URL'
          ? new DfsError('DFS_BAD_NAME', 'the URL is not valid percent-encoded UTF-8')
          : toDfsError(error, limits)
      void reply.status(bad.status).send(bad.toJSON())
    },
    forceCloseConnections: true,
    // WHATWG decoding: a %-escape that is not valid UTF-8 becomes U+FFFD, which every check of names
    // refuses, instead of being kept as literal text that looks like another name.
    routerOptions: { querystringParser: (query: string) => Object.fromEntries(new URLSearchParams(query)) },
  }
  // https.Server and http.Server share request and reply types, so one FastifyInstance type serves both.
  const app = (options.tls
    ? Fastify<HttpsServer>({
        ...base,
        https: {
          ...serverIdentity(options.tls),
          requestCert: options.nodes !== undefined,
          rejectUnauthorized: options.nodes?.certificates === 'required',
          minVersion: 'TLSv1.2',
          handshakeTimeout: limits.headersTimeoutMs,
          ...server,
        },
      })
    : Fastify({ ...base, http: server })) as unknown as FastifyInstance
  app.server.maxConnections = limits.maxConnections
  // A connection keeps the certificate it was verified with: no renegotiation (TLS 1.2) to another.
  if (options.tls) app.server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation())

  acceptBodies(app, limits)
  const metrics = new Metrics(options.role, options.id)
  app.decorate('metrics', metrics)
  serveMetrics(app, metrics)
  // At debug, a line when a request starts too: a long transfer shows in the log while it runs.
  app.addHook('onRequest', async (request) => {
    // Checked first: the path is not worth splitting on every request at info.
    if (request.log.level === 'debug' || request.log.level === 'trace')
      request.log.debug({ method: request.method, path: request.url.split('?')[0] }, 'request started')
  })
  app.addHook('onResponse', async (request, reply) => {
    // The path only: a query may carry a lease key, which is a secret.
    const path = request.url.split('?')[0]
    request.log.info(
      { method: request.method, path, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    )
  })

  app.setErrorHandler((error, request, reply) => {
    const dfsError = toDfsError(error, limits)
    metrics.error(dfsError.code)
    logFailure(request.log, error, dfsError, request.raw.aborted)
    const body: ErrorBody = dfsError.toJSON()
    // A body abandoned part way (an upload that failed early) would leave the socket paused
    // mid-request, and one refused unread (DFS_AUTH, say) would be read by Node for as long as the
    // client cared to take sending it: either way the rest is dropped, for a moment at most.
    // Fastify asks to close after a body refused for its declared size (DFS_TOO_LARGE); Node would then
    // close at once, and the client still sending would get a reset in place of the answer, so the
    // connection lingers like any other.
    if (hasBody(request.headers) && !request.raw.readableEnded) {
      void reply.removeHeader('connection')
      discardRestOfBody(request.raw, reply.raw)
    }
    // A client that went quiet is not waited for again.
    if (dfsError.code === 'DFS_TIMEOUT') void reply.header('connection', 'close')
    if (dfsError.retryAfterSeconds !== undefined) void reply.header('retry-after', dfsError.retryAfterSeconds)
    // A 416 names the size the range missed (RFC 9110 §15.5.17).
    if (dfsError instanceof UnsatisfiableRange) void reply.header('content-range', `bytes */${dfsError.size}`)
    void reply.status(dfsError.status).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(new DfsError('DFS_NOT_FOUND', `no route ${request.method} ${request.url}`).toJSON())
  })

  if (options.nodes) authoriseNodes(app, options.nodes, options.identify ?? peerIdentity)

  // For load balancers and probes: no certificate, no session, no details.
  app.get('/healthz', async () => ({ ok: true }))
  app.get('/health', async () => ({
    ok: true,
    role: options.role,
    id: options.id ?? null,
    memory: process.memoryUsage(),
  }))
  return app
}

/** Every call names, by its certificate, a role the access table lets call that route. */
function authoriseNodes(
  app: FastifyInstance,
  nodes: NonNullable<AppOptions['nodes']>,
  identify: (request: FastifyRequest) => NodeIdentity | undefined,
): void {
  const table: AccessTable = {
    'GET /health': ROLES,
    'GET /healthz': 'public',
    'GET /metrics': 'public',
    ...nodes.access,
  }
  app.addHook('onRequest', async (request) => {
    const allowed = table[`${request.method} ${request.routeOptions.url ?? ''}`]
    if (allowed === 'public') return
    const node = identify(request)
    if (!node) throw new DfsError('DFS_AUTH', 'this call needs a certificate from the cluster CA')
    const serial = verifiedPeer(request)?.serialNumber
    if (serial && nodes.revoked?.(serial)) {
      throw new DfsError(
        'DFS_FORBIDDEN',
        `the certificate of ${describeIdentity(node)} was revoked: the node was removed`,
      )
    }
    if (!allowed?.includes(node.role)) {
      throw new DfsError(
        'DFS_FORBIDDEN',
        `${describeIdentity(node)} may not call ${request.method} ${request.url.split('?')[0]}`,
      )
    }
    request.node = node
  })
}

/**
 * What bodies the routes take, and how they are read: JSON (application/json, size- and
 * depth-bounded), or file bytes (application/octet-stream), handed to the route as a stream (see
 * upload-body.ts). Every body is checked for its kind before a byte is read, after the onRequest hooks
 * have said who is calling, and may not go quiet for longer than the body timeout.
 */
function acceptBodies(app: FastifyInstance, limits: RequestLimits): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsDeeperThan(body as string, limits.jsonDepth)) {
      return done(
        new DfsError('DFS_BAD_REQUEST', `the JSON body nests deeper than ${limits.jsonDepth} levels`),
        undefined,
      )
    }
    parseJson(request, body as string, done)
  })
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload))
  app.addHook('preParsing', async (request, _reply, payload) => {
    checkMediaType(request)
    return hasBody(request.headers) ? idleTimeout(payload, limits.bodyTimeoutMs) : payload
  })
}

/**
 * Failures that are part of running a cluster, not faults in it, each fully said by its code and
 * message: a full disk, a peer that is down or unreachable, a WebDAV Destination on another server.
 * Their stack would only show where the message was made.
 */
const EXPECTED_FAILURES: ReadonlySet<ErrorCode> = new Set([
  'DFS_NO_SPACE',
  'DFS_UNAVAILABLE',
  'DFS_BAD_DESTINATION',
])

/**
 * How a failed request is logged (its info line says it was answered, and with what status): a
 * client that hung up is no failure of ours, a debug line; an expected failure answered 5xx is a
 * warning with its code and reason (its causes' messages too: the internal addresses the answer
 * leaves out), no stack; any other 5xx, the unexpected, is an error with its
 * stack. A 4xx is the caller's mistake, which the answer tells them, and the request line records.
 */
export function logFailure(
  log: Pick<FastifyBaseLogger, 'debug' | 'warn' | 'error'>,
  error: unknown,
  answer: DfsError,
  aborted = false,
): void {
  if (aborted || isHangUp(error)) log.debug(`client went away: ${(error as Error).message}`)
  else if (answer.status < 500) return
  else if (error instanceof DfsError && EXPECTED_FAILURES.has(answer.code))
    log.warn({ code: answer.code, status: answer.status, reason: withCauses(error) }, 'request failed')
  else log.error({ err: error, code: answer.code }, 'request failed')
}

/**
 * The message with its causes' (`file server 2 unreachable (connection refused): GET https://…`):
 * the user's answer names the node, the log keeps what failed where, as pino's error lines do.
 */
function withCauses(error: Error): string {
  const parts: string[] = []
  for (let at: unknown = error; at instanceof Error && parts.length < 5; at = at.cause) parts.push(at.message)
  return parts.join(': ')
}

/** A connection the client closed (reset, or ended before the body did). */
export function isHangUp(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ECONNABORTED'
  )
}

function toDfsError(error: unknown, limits: RequestLimits): DfsError {
  if (error instanceof DfsError) return error
  const fastifyError = error as { validation?: unknown; statusCode?: number; message?: string; code?: string }
  const message = fastifyError.message ?? 'bad request'
  if (fastifyError.validation) return new DfsError('DFS_BAD_REQUEST', message)
  const status = fastifyError.statusCode
  if (status === 413) {
    return new DfsError('DFS_TOO_LARGE', `the JSON body is larger than ${limits.jsonBytes} bytes`)
  }
  if (status && status < 500) return new DfsError(codeForStatus(status) ?? 'DFS_BAD_REQUEST', message)
  return new DfsError('DFS_INTERNAL', 'internal error (see the server log)')
}

/** Listens and returns the URL other nodes should use to reach this server. */
export async function listen(
  app: FastifyInstance,
  host: string,
  port: number,
  advertise?: string,
): Promise<string> {
  try {
    await app.listen({ host, port })
  } catch (error) {
    throw listenFailure(error, host, port)
  }
  const address = app.server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  const publicHost = advertise ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host)
  const hostPart = publicHost.includes(':') ? `[${publicHost}]` : publicHost
  return `https://${hostPart}:${actualPort}`
}

/** Why a role could not listen, said as an operator can act on it. */
function listenFailure(error: unknown, host: string, port: number): unknown {
  const code = (error as { code?: unknown }).code
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`
  if (code === 'EADDRINUSE')
    return new DfsError(
      'DFS_UNAVAILABLE',
      `cannot listen on ${where}: the port is in use (choose another with --port)`,
    )
  if (code === 'EACCES')
    return new DfsError(
      'DFS_UNAVAILABLE',
      `cannot listen on ${where}: not allowed (ports below 1024 need privileges)`,
    )
  if (code === 'EADDRNOTAVAIL')
    return new DfsError(
      'DFS_UNAVAILABLE',
      `cannot listen on ${where}: no such address on this machine (see --host)`,
    )
  return error
}

/** An abort signal that fires if the client hangs up before the reply is sent (for long polls). */
export function abortOnHangUp(reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort()
  })
  return controller.signal
}

/** What goes with an event besides its data: a type other than `message`, and an id to resume after. */
export interface EventMeta {
  event?: string
  id?: number
}

/**
 * Answers with a server-sent event stream: `subscribe` is given a send function and returns its
 * unsubscribe, called when the client goes away. A comment every 15 s keeps idle links open.
 */
export function streamEvents<T>(
  reply: FastifyReply,
  subscribe: (send: (event: T, meta?: EventMeta) => void) => () => void,
): void {
  reply.hijack()
  const out = reply.raw
  out.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  })
  out.write(': dfs change stream\n\n')
  const unsubscribe = subscribe((event, meta) => {
    const head = `${meta?.event ? `event: ${meta.event}\n` : ''}${meta?.id !== undefined ? `id: ${meta.id}\n` : ''}`
    out.write(`${head}data: ${JSON.stringify(event)}\n\n`)
  })
  const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), 15_000)
  out.once('close', () => {
    clearInterval(keepAlive)
    unsubscribe()
  })
}
