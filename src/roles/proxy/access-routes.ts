// The proxy's routes for who may do what: logout and passwords, users and groups (admins), the
// owners and modes of names, and the audit log (admins). Each passes the caller's session on; the
// directory decides.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  auditQuery,
  groupBody,
  newUserBody,
  passwdBody,
  permsBody,
  userBody,
} from '../../protocol/schemas.ts'
import type { AuditQuery } from '../../protocol/types.ts'
import type { ProxyService } from './service.ts'

export function registerAccessRoutes(
  app: FastifyInstance,
  service: ProxyService,
  authenticated: (request: FastifyRequest) => Promise<void>,
): void {
  const onRequest = authenticated

  app.post('/v1/logout', { onRequest }, async (request) => {
    service.forget(request.caller.token)
    return request.caller.directory.logout()
  })

  app.post<{ Body: { user?: string; current?: string; password: string } }>(
    '/v1/passwd',
    {
      onRequest,
      schema: {
        body: passwdBody,
      },
    },
    async (request) => {
      const changed = await request.caller.directory.changePassword(request.body)
      service.forget(request.caller.token)
      return changed
    },
  )

  app.get('/v1/users', { onRequest }, async (request) => request.caller.directory.listUsers())

  app.post<{ Body: { user: string; password: string; admin?: boolean } }>(
    '/v1/users',
    {
      onRequest,
      schema: {
        body: newUserBody,
      },
    },
    async (request) => request.caller.directory.addUser(request.body),
  )

  app.post<{ Body: { user: string } }>(
    '/v1/users/rm',
    {
      onRequest,
      schema: {
        body: userBody,
      },
    },
    async (request) => request.caller.directory.removeUser(request.body.user),
  )

  app.get('/v1/groups', { onRequest }, async (request) => request.caller.directory.listGroups())
  app.post<{ Body: { group: string; users?: string[] } }>(
    '/v1/groups',
    { onRequest, schema: { body: groupBody } },
    async (request) => request.caller.directory.addToGroup(request.body.group, request.body.users ?? []),
  )
  app.post<{ Body: { group: string; users?: string[] } }>(
    '/v1/groups/rm',
    { onRequest, schema: { body: groupBody } },
    async (request) => request.caller.directory.removeFromGroup(request.body.group, request.body.users ?? []),
  )

  // chmod and chown; a name ending in '/' sets the rule for the names below that prefix.
  app.post<{ Body: { name: string; mode?: string; owner?: string; group?: string } }>(
    '/v1/perms',
    {
      onRequest,
      schema: {
        body: permsBody,
      },
    },
    async (request) => request.caller.directory.setPerms(request.body),
  )
  app.get('/v1/perms/rules', { onRequest }, async (request) => request.caller.directory.prefixRules())

  app.get<{ Querystring: AuditQuery }>(
    '/v1/audit',
    { onRequest, schema: { querystring: auditQuery } },
    async (request) => request.caller.directory.audit(request.query),
  )
}
