// The directory's routes for accounts, called by proxies: login (throttled here, so across every
// proxy), checking and ending sessions, passwords, and for admins users and groups. Each change,
// and each login, is recorded in the audit log (never a password).

import type { FastifyInstance } from 'fastify'
import { groupBody, newUserBody, passwdBody, proxyLoginBody, userBody } from '../../protocol/schemas.ts'
import { actorOf } from './acting-user.ts'
import type { Accounts } from './accounts.ts'
import type { AuditLog } from './audit-log.ts'
import { audited, byUser } from './audited.ts'

export function registerAccountRoutes(app: FastifyInstance, accounts: Accounts, audit: AuditLog): void {
  app.post<{ Body: { user: string; password: string; client?: string } }>(
    '/v1/login',
    { schema: { body: proxyLoginBody } },
    async (request) => {
      const { user: name, password: secret, client } = request.body
      // Failures are the point: a wrong password is DFS_AUTH, a locked-out attempt DFS_RATE_LIMITED.
      const attempt = {
        action: 'login',
        user: name,
        ...(request.node ? { node: `${request.node.role} ${request.node.id}` } : {}),
        ...(client ? { client } : {}),
      } as const
      return audited(audit, attempt, () => accounts.login(name, secret, client))
    },
  )

  // The proxy's check of a bearer token: who it is, until when, and with which groups.
  app.post<{ Body: { token: string } }>(
    '/v1/sessions/check',
    {
      schema: {
        body: {
          type: 'object',
          required: ['token'],
          additionalProperties: false,
          properties: { token: { type: 'string', maxLength: 256 } },
        },
      },
    },
    async (request) => {
      const { tokenHash: _hash, ...session } = await accounts.authenticate(request.body.token)
      return session
    },
  )

  app.post('/v1/logout', async (request) =>
    audited(
      audit,
      { ...byUser(request), action: 'logout' },
      () => accounts.logout(actorOf(request)),
      (done) => (done.loggedOut ? {} : { detail: 'the session had already ended' }),
    ),
  )

  app.post<{ Body: { user?: string; current?: string; password: string } }>(
    '/v1/passwd',
    {
      schema: {
        body: passwdBody,
      },
    },
    async (request) =>
      audited(
        audit,
        { ...byUser(request), action: 'passwd', name: request.body.user ?? actorOf(request).user },
        () => accounts.changePassword(actorOf(request), request.body),
        (changed) => ({ detail: `${changed.sessionsEnded} sessions ended` }),
      ),
  )

  app.get('/v1/users', async (request) => accounts.listUsers(actorOf(request)))

  app.post<{ Body: { user: string; password: string; admin?: boolean } }>(
    '/v1/users',
    {
      schema: {
        body: newUserBody,
      },
    },
    async (request) =>
      audited(
        audit,
        {
          ...byUser(request),
          action: 'user.add',
          name: request.body.user,
          ...(request.body.admin ? { detail: 'as admin' } : {}),
        },
        () => accounts.addUser(actorOf(request), request.body),
      ),
  )

  app.post<{ Body: { user: string } }>(
    '/v1/users/rm',
    {
      schema: {
        body: userBody,
      },
    },
    async (request) =>
      audited(audit, { ...byUser(request), action: 'user.rm', name: request.body.user }, () =>
        accounts.removeUser(actorOf(request), request.body.user),
      ),
  )

  app.get('/v1/groups', async (request) => {
    actorOf(request)
    return accounts.listGroups()
  })

  app.post<{ Body: { group: string; users?: string[] } }>(
    '/v1/groups',
    { schema: { body: groupBody } },
    async (request) => {
      const { group, users: members = [] } = request.body
      return audited(
        audit,
        { ...byUser(request), action: 'group.add', name: group, ...asked(members, 'no members') },
        () => accounts.addToGroup(actorOf(request), group, members),
      )
    },
  )
  app.post<{ Body: { group: string; users?: string[] } }>(
    '/v1/groups/rm',
    { schema: { body: groupBody } },
    async (request) => {
      const { group, users: members = [] } = request.body
      return audited(
        audit,
        { ...byUser(request), action: 'group.rm', name: group, ...asked(members, 'the whole group') },
        () => accounts.removeFromGroup(actorOf(request), group, members),
      )
    },
  )
}

/** The members a group change names, or what naming none means. */
function asked(members: string[], none: string): { detail: string } {
  return { detail: members.length === 0 ? none : `members ${members.join(', ')}` }
}
