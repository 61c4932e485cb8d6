// The directory's routes for accounts, called by proxies: login (throttled here, so across every
// proxy), checking and ending sessions, passwords, and for admins users and groups.

import type { FastifyInstance } from 'fastify'
import { proxyLoginBody } from '../../protocol/schemas.ts'
import { actorOf } from './acting-user.ts'
import type { Accounts } from './accounts.ts'

const user = { type: 'string', maxLength: 64 } as const
const password = { type: 'string', maxLength: 1024 } as const
const users = { type: 'array', items: user, maxItems: 1000, uniqueItems: true } as const

export function registerAccountRoutes(app: FastifyInstance, accounts: Accounts): void {
  app.post<{ Body: { user: string; password: string; client?: string } }>(
    '/v1/login',
    { schema: { body: proxyLoginBody } },
    async (request) => accounts.login(request.body.user, request.body.password, request.body.client),
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

  app.post('/v1/logout', async (request) => accounts.logout(actorOf(request)))

  app.post<{ Body: { user?: string; current?: string; password: string } }>(
    '/v1/passwd',
    {
      schema: {
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          properties: { user, current: password, password },
        },
      },
    },
    async (request) => accounts.changePassword(actorOf(request), request.body),
  )

  app.get('/v1/users', async (request) => accounts.listUsers(actorOf(request)))

  app.post<{ Body: { user: string; password: string; admin?: boolean } }>(
    '/v1/users',
    {
      schema: {
        body: {
          type: 'object',
          required: ['user', 'password'],
          additionalProperties: false,
          properties: { user, password, admin: { type: 'boolean' } },
        },
      },
    },
    async (request) => accounts.addUser(actorOf(request), request.body),
  )

  app.post<{ Body: { user: string } }>(
    '/v1/users/rm',
    {
      schema: {
        body: { type: 'object', required: ['user'], additionalProperties: false, properties: { user } },
      },
    },
    async (request) => accounts.removeUser(actorOf(request), request.body.user),
  )

  app.get('/v1/groups', async (request) => {
    actorOf(request)
    return accounts.listGroups()
  })

  const groupChange = {
    body: {
      type: 'object',
      required: ['group'],
      additionalProperties: false,
      properties: { group: user, users },
    },
  } as const
  app.post<{ Body: { group: string; users?: string[] } }>(
    '/v1/groups',
    { schema: groupChange },
    async (request) => accounts.addToGroup(actorOf(request), request.body.group, request.body.users ?? []),
  )
  app.post<{ Body: { group: string; users?: string[] } }>(
    '/v1/groups/rm',
    { schema: groupChange },
    async (request) =>
      accounts.removeFromGroup(actorOf(request), request.body.group, request.body.users ?? []),
  )
}
