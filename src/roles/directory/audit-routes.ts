// Reading the audit log back, for admins through a proxy (`dfs audit`): the newest entries that
// match, oldest first.

import type { FastifyInstance } from 'fastify'
import { auditQuery } from '../../protocol/schemas.ts'
import type { AuditEntry, AuditQuery } from '../../protocol/types.ts'
import { adminOf } from './acting-user.ts'
import { newest, type AuditLog } from './audit-log.ts'

const DEFAULT_LIMIT = 1000

export function registerAuditRoutes(app: FastifyInstance, audit: AuditLog): void {
  app.get<{ Querystring: AuditQuery }>(
    '/v1/audit',
    { schema: { querystring: auditQuery } },
    async (request): Promise<AuditEntry[]> => {
      adminOf(request, 'read the audit log')
      const { user, since, limit } = request.query
      // What was recorded before this call is on disk before it is read.
      await audit.flush()
      return newest(audit.read({ user, since }), limit ?? DEFAULT_LIMIT)
    },
  )
}
