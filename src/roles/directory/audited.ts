// How the directory's routes record what they did in the audit log: the event with its outcome,
// 'ok' or the code of the error that refused it (the error goes on to the caller unchanged). Routes
// record, not services: they know who acted, through which node, and from which address.

import type { FastifyRequest } from 'fastify'
import { DfsError } from '../../protocol/errors.ts'
import type { AuditEvent } from '../../protocol/types.ts'
import { reason } from '../../server/logger.ts'
import { actorOf } from './acting-user.ts'
import type { AuditLog } from './audit-log.ts'

/** What a route knows before it runs: `detail` says what was asked for. */
export type Attempt = Omit<AuditEvent, 'outcome'>
/** What the result adds: `detail` says how it turned out. */
export type Outcome = Pick<AuditEvent, 'name' | 'version' | 'detail'>

export async function audited<T>(
  audit: AuditLog,
  attempt: Attempt,
  run: () => Promise<T>,
  describe: (result: T) => Outcome = () => ({}),
): Promise<T> {
  let result: T
  try {
    result = await run()
  } catch (error) {
    const outcome = error instanceof DfsError ? error.code : 'DFS_INTERNAL'
    audit.record({ ...attempt, outcome, ...details(attempt.detail, reason(error)) })
    throw error
  }
  const { detail, ...described } = describe(result)
  audit.record({ ...attempt, ...described, outcome: 'ok', ...details(attempt.detail, detail) })
  return result
}

/** Who acts in a call a proxy makes for a user: the user, the proxy, where the user connected from. */
export function byUser(request: FastifyRequest): Pick<AuditEvent, 'user' | 'node' | 'client'> {
  return {
    user: actorOf(request).user,
    ...(request.node ? { node: `${request.node.role} ${request.node.id}` } : {}),
    ...(request.clientAddress ? { client: request.clientAddress } : {}),
  }
}

function details(...parts: (string | undefined)[]): { detail?: string } {
  const text = parts.filter((p) => p !== undefined && p !== '').join(': ')
  return text === '' ? {} : { detail: text }
}

/**
 * Records only a refusal for want of permission: for a write's placement, whose success is not yet
 * a write (that is recorded at its commit), but whose refusal is the attempt an audit looks for.
 */
export async function auditedRefusal<T>(
  audit: AuditLog,
  attempt: Attempt,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof DfsError && error.code === 'DFS_FORBIDDEN')
      audit.record({ ...attempt, outcome: error.code, ...details(attempt.detail, error.message) })
    throw error
  }
}
