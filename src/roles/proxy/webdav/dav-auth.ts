// Who a WebDAV request is: HTTP Basic with a dfs account (what file managers, rclone and davfs2
// send), or the bearer token of a dfs session. A Basic login becomes a session once, kept here under a
// keyed hash of the credentials until the directory stops accepting it (logout, password change,
// expiry); failed logins go to the directory every time, which throttles them across proxies.

import { createHmac, randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { DfsError } from '../../../protocol/errors.ts'
import type { Session } from '../../../protocol/types.ts'
import type { Caller, ProxyService } from '../service.ts'

const MAX_KEPT = 10_000
const BEARER = /^Bearer ([A-Za-z0-9_-]{16,256})$/
const BASIC = /^Basic ([A-Za-z0-9+/=]{1,1024})$/

export class DavAuth {
  private readonly service: ProxyService
  /** Keyed hash of user and password → their session; the key never leaves this process. */
  private readonly sessions = new Map<string, Session>()
  private readonly key = randomBytes(32)

  constructor(service: ProxyService) {
    this.service = service
  }

  async caller(request: FastifyRequest): Promise<Caller> {
    const header = request.headers.authorization ?? ''
    const bearer = BEARER.exec(header)?.[1]
    if (bearer) return this.service.authenticate(bearer, { client: request.ip })
    const basic = BASIC.exec(header)?.[1]
    if (!basic) throw new DfsError('DFS_AUTH', 'log in with a dfs account (HTTP Basic) or a bearer token')
    const decoded = Buffer.from(basic, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 1) throw new DfsError('DFS_AUTH', 'HTTP Basic credentials are user:password')
    return this.basic(decoded.slice(0, colon), decoded.slice(colon + 1), request.ip)
  }

  private async basic(user: string, password: string, client: string): Promise<Caller> {
    const id = createHmac('sha256', this.key).update(user).update('\0').update(password).digest('base64url')
    const kept = this.sessions.get(id)
    if (kept && kept.expires > Date.now()) {
      try {
        return await this.service.authenticate(kept.token, { client })
      } catch (error) {
        if (!(error instanceof DfsError) || error.code !== 'DFS_AUTH') throw error
        // The session ended: the password is tried again as a login.
      }
    }
    this.sessions.delete(id)
    const session = await this.service.directory.login(user, password, client)
    if (this.sessions.size >= MAX_KEPT) this.sessions.clear()
    this.sessions.set(id, session)
    return this.service.authenticate(session.token, { client })
  }
}
