// Builds the Fastify app every role starts from: HTTPS with the cluster's TLS material, one error
// shape for every failure, raw streaming bodies for file bytes, and a health route.

import type { Server as HttpsServer } from 'node:https'
import type { PeerCertificate, TLSSocket } from 'node:tls'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { DfsError, type ErrorBody } from '../protocol/errors.ts'
import type { TlsMaterial } from '../tls/ca-files.ts'
import { serverIdentity } from '../tls/live-tls.ts'
import { describeIdentity, identityOf, ROLES, type NodeIdentity, type Role } from '../tls/identity.ts'

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
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The node that called, as its certificate says (node-to-node routes only). */
    node?: NodeIdentity
  }
}

/** The caller's certificate, if TLS verified it against the cluster CA. */
export function verifiedPeer(request: FastifyRequest): PeerCertificate | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>
  return socket.authorized === true ? socket.getPeerCertificate?.() : undefined
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
  const base = {
    logger: { level: options.logLevel ?? process.env.DFS_LOG ?? 'warn' },
    // File bytes can take a long time; the socket is still bounded by progress in Node's timeouts.
    requestTimeout: 0,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
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
        },
      })
    : Fastify(base)) as unknown as FastifyInstance

  // File bytes: routes read request.raw themselves, as a stream.
  app.addContentTypeParser('application/octet-stream', (_request, _payload, done) => done(null))

  app.setErrorHandler((error, request, reply) => {
    const dfsError = toDfsError(error)
    if (dfsError.status >= 500) request.log.error({ err: error }, 'request failed')
    const body: ErrorBody = dfsError.toJSON()
    // A body abandoned part way (an upload that failed early) leaves the socket paused mid-request:
    // Node would never read the next request on it, and a keep-alive client would wait forever.
    if (request.raw.readableDidRead && !request.raw.readableEnded) void reply.header('connection', 'close')
    if (dfsError.retryAfterSeconds !== undefined) void reply.header('retry-after', dfsError.retryAfterSeconds)
    void reply.status(dfsError.status).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(new DfsError('DFS_NOT_FOUND', `no route ${request.method} ${request.url}`).toJSON())
  })

  if (options.nodes) authoriseNodes(app, options.nodes, options.identify ?? peerIdentity)

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
  const table: AccessTable = { 'GET /health': ROLES, ...nodes.access }
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

function toDfsError(error: unknown): DfsError {
  if (error instanceof DfsError) return error
  const fastifyError = error as { validation?: unknown; statusCode?: number; message?: string; code?: string }
  if (fastifyError.validation) return new DfsError('DFS_BAD_REQUEST', fastifyError.message ?? 'bad request')
  if (fastifyError.statusCode && fastifyError.statusCode < 500) {
    return new DfsError('DFS_BAD_REQUEST', fastifyError.message ?? 'bad request')
  }
  return new DfsError('DFS_INTERNAL', 'internal error (see the server log)')
}

/** Listens and returns the URL other nodes should use to reach this server. */
export async function listen(
  app: FastifyInstance,
  host: string,
  port: number,
  advertise?: string,
): Promise<string> {
  await app.listen({ host, port })
  const address = app.server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  const publicHost = advertise ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host)
  const hostPart = publicHost.includes(':') ? `[${publicHost}]` : publicHost
  return `https://${hostPart}:${actualPort}`
}

/** An abort signal that fires if the client hangs up before the reply is sent (for long polls). */
export function abortOnHangUp(reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort()
  })
  return controller.signal
}

/**
 * Answers with a server-sent event stream: `subscribe` is given a send function and returns its
 * unsubscribe, called when the client goes away. A comment every 15 s keeps idle links open.
 */
export function streamEvents<T>(
  reply: FastifyReply,
  subscribe: (send: (event: T) => void) => () => void,
): void {
  reply.hijack()
  const out = reply.raw
  out.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  })
  out.write(': dfs change stream\n\n')
  const unsubscribe = subscribe((event) => out.write(`data: ${JSON.stringify(event)}\n\n`))
  const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), 15_000)
  out.once('close', () => {
    clearInterval(keepAlive)
    unsubscribe()
  })
}
