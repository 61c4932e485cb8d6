// Calls a proxy makes for a user carry the user's session token (`dfs-session`), and the directory
// checks it on every such call: a revoked or expired session stops at once, on every proxy, and a
// proxy cannot act for a user whose token it was not given. The proxy also says where the user
// connected from (`dfs-client`), for the audit log.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CLIENT_HEADER, isClientAddress } from '../../protocol/client-address.ts'
import { DfsError } from '../../protocol/errors.ts'
import { requireAdmin, type Accounts, type AuthenticatedSession } from './accounts.ts'

export const SESSION_HEADER = 'dfs-session'
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/

declare module 'fastify' {
  interface FastifyRequest {
    /** The user a proxy acts for, as their session says. */
    actor?: AuthenticatedSession
    /** The end user's address, as the proxy acting for them saw it. */
    clientAddress?: string
  }
}

/** Authenticates the acting user of every proxy call that names one, before its body is read. */
export function registerActingUser(app: FastifyInstance, accounts: Accounts): void {
  app.addHook('onRequest', async (request) => {
    if (request.node?.role !== 'proxy') return
    request.clientAddress = clientAddress(request)
    const token = request.headers[SESSION_HEADER]
    if (token === undefined) return
    if (typeof token !== 'string' || !TOKEN.test(token))
      throw new DfsError('DFS_AUTH', 'not logged in, or the session expired: run dfs login')
    request.actor = await accounts.authenticate(token)
  })
}

/** Only a proxy's word is taken for it, and only in the shape of an address. */
function clientAddress(request: FastifyRequest): string | undefined {
  const address = request.headers[CLIENT_HEADER]
  if (address === undefined) return undefined
  if (typeof address !== 'string' || !isClientAddress(address))
    throw new DfsError('DFS_BAD_REQUEST', `${CLIENT_HEADER} is not an IP address`)
  return address
}

/** The user this call acts for; DFS_AUTH if it names none. */
export function actorOf(request: FastifyRequest): AuthenticatedSession {
  if (!request.actor) throw new DfsError('DFS_AUTH', 'this call acts for a user: it needs their session')
  return request.actor
}

/** The user this call acts for, who must be an admin (DFS_FORBIDDEN saying `what` otherwise); their name. */
export function adminOf(request: FastifyRequest, what: string): string {
  const actor = actorOf(request)
  requireAdmin(actor, what)
  return actor.user
}

/** The proxy making the call (the holder of a lease is a user through one proxy). */
export function proxyOf(request: FastifyRequest): number {
  if (request.node?.role !== 'proxy') throw new DfsError('DFS_FORBIDDEN', 'only a proxy acts for users')
  return request.node.id
}
