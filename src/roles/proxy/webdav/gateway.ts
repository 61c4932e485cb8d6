// The WebDAV gateway (`dfs proxy --webdav`): the namespace at /dav/ on the proxy's HTTPS port, for
// the tools people already use (file managers, rclone, davfs2, office suites). Every request is a
// dfs user's (HTTP Basic with their account, or their bearer token) and goes through the same proxy
// service as the API: the same name rules, permissions, leases, verified reads and streamed writes.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Readable } from 'node:stream'
import { DfsError } from '../../../protocol/errors.ts'
import type { Caller, ProxyService } from '../service.ts'
import { DavAuth } from './dav-auth.ts'
import { copyOrMove } from './copy-move.ts'
import { lock, unlock } from './lock-routes.ts'
import { DavLocks } from './locks.ts'
import { MOUNT, davPath, type DavPath } from './paths.ts'
import { propfind, proppatch } from './propfind.ts'
import { get, head, mkcol, put, remove } from './read-write.ts'
import { MAX_XML_BYTES, parseXml, type XmlElement } from './xml.ts'

const METHODS = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'] as const
const ALLOW = 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK'

/** One WebDAV request as its handler sees it. */
export interface DavRequest {
  service: ProxyService
  locks: DavLocks
  request: FastifyRequest
  reply: FastifyReply
  caller: Caller
  path: DavPath
  /** The XML body, read and parsed (bounded); undefined for an empty one. */
  xml: () => Promise<XmlElement | undefined>
}

type Handler = (dav: DavRequest) => Promise<unknown>

const HANDLERS: Record<string, Handler> = {
  GET: get,
  HEAD: head,
  PUT: put,
  DELETE: remove,
  MKCOL: mkcol,
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  COPY: (dav) => copyOrMove(dav, 'copy'),
  MOVE: (dav) => copyOrMove(dav, 'move'),
  LOCK: lock,
  UNLOCK: unlock,
}

export function registerWebDav(app: FastifyInstance, service: ProxyService): void {
  for (const method of METHODS) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true })
  }
  const auth = new DavAuth(service)
  const locks = new DavLocks()
  void app.register(
    async (dav) => {
      // Bodies of every kind come as they are: file bytes of any media type, XML read by the handler.
      dav.removeAllContentTypeParsers()
      dav.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
      const parent = dav.errorHandler
      dav.setErrorHandler(function (error, request, reply) {
        // Clients ask for credentials when told how to send them.
        if (error instanceof DfsError && error.code === 'DFS_AUTH')
          void reply.header('www-authenticate', 'Basic realm="dfs", charset="UTF-8"')
        return parent.call(this, error, request, reply)
      })
      const handle = async (request: FastifyRequest, reply: FastifyReply) => {
        if (request.method === 'OPTIONS') return options(reply)
        const handler = HANDLERS[request.method]
        if (!handler) throw new DfsError('DFS_NOT_ALLOWED', `WebDAV has no ${request.method}`)
        const caller = await auth.caller(request)
        const path = davPath(request.url)
        return handler({ service, locks, request, reply, caller, path, xml: () => readXml(request) })
      }
      const methods = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', ...METHODS]
      // '/' under the prefix is both /dav and /dav/.
      for (const url of ['/', '/*'])
        dav.route({ method: methods, url, exposeHeadRoute: false, handler: handle })
    },
    { prefix: MOUNT },
  )
}

/** What this server speaks: WebDAV class 1 and 2 (locks). Asked before any login, so not checked. */
function options(reply: FastifyReply): FastifyReply {
  return reply
    .status(200)
    .header('dav', '1, 2')
    .header('allow', ALLOW)
    .header('ms-author-via', 'DAV')
    .header('content-length', 0)
    .send()
}

/**
 * The request's XML body, at most MAX_XML_BYTES. Read as XML whatever its media type says: clients
 * send text/xml, application/xml, text/plain or nothing, and the parser refuses what is not XML.
 */
async function readXml(request: FastifyRequest): Promise<XmlElement | undefined> {
  const body = request.body
  if (!(body instanceof Readable)) return undefined
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_XML_BYTES)
      throw new DfsError('DFS_TOO_LARGE', `the XML body is over ${MAX_XML_BYTES} bytes`)
    chunks.push(chunk)
  }
  return parseXml(Buffer.concat(chunks).toString('utf8'))
}
