// The web dashboard at /ui/ on the proxy: a few static files, served with headers that let the page
// run only its own scripts, talk only to this proxy and never be framed. The files need no login:
// the page logs in through the API (/v1/login) and sends the bearer token on every call itself.

import type { FastifyInstance, FastifyReply } from 'fastify'
import { DfsError } from '../../../protocol/errors.ts'
import { uiFiles } from './assets.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

// No inline script or style anywhere, so neither is allowed: a file name that slipped into markup
// still could not run. connect-src 'self': the token is only ever sent back to this proxy.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // Small files: always asked for again, so a new proxy version's page never mixes with an old one.
  'cache-control': 'no-cache',
}

export function registerUi(app: FastifyInstance, files: ReadonlyMap<string, string> = uiFiles()): void {
  const send = (reply: FastifyReply, name: string) => {
    const body = files.get(name)
    const type = TYPES[name.slice(name.lastIndexOf('.'))]
    if (body === undefined || type === undefined) throw new DfsError('DFS_NOT_FOUND', `no file /ui/${name}`)
    return reply.type(type).send(body)
  }
  // Set before the handler runs, so a 404 under /ui/ carries them too.
  const secure = async (_request: unknown, reply: FastifyReply) => {
    void reply.headers(SECURITY_HEADERS)
  }
  app.get('/ui', { onRequest: secure }, async (_request, reply) => reply.redirect('/ui/', 301))
  app.get('/ui/', { onRequest: secure }, async (_request, reply) => send(reply, 'index.html'))
  app.get<{ Params: { '*': string } }>('/ui/*', { onRequest: secure }, async (request, reply) =>
    send(reply, request.params['*']),
  )
}
