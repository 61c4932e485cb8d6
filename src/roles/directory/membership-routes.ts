// The directory's routes for its membership: joining with a token (the one route a node without a
// certificate may call), renewing a certificate, and, for the admin through a proxy, join tokens and
// nodes (list, drain, remove). Joins, tokens made or revoked, and nodes drained or removed go to
// the audit log.

import type { FastifyInstance } from 'fastify'
import { verifiedPeer } from '../../server/app.ts'
import { namesOf } from '../../tls/identity.ts'
import { parseJoinToken } from '../../tls/join-token.ts'
import { adminOf } from './acting-user.ts'
import type { AuditLog } from './audit-log.ts'
import { audited, byUser } from './audited.ts'
import type { JoinService, TokenRole } from './join-service.ts'
import type { NodeAdmin } from './node-admin.ts'

const hosts = {
  type: 'array',
  maxItems: 16,
  items: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$' },
} as const
const csr = { type: 'string', maxLength: 16_384 } as const
const nodeId = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const

export interface Membership {
  join: JoinService
  nodes: NodeAdmin
  audit: AuditLog
}

export function registerMembershipRoutes(app: FastifyInstance, { join, nodes, audit }: Membership): void {
  app.post<{
    Body: { token: string; role: 'fileserver' | 'proxy'; id: number; csr: string; hosts?: string[] }
  }>(
    '/v1/join',
    {
      schema: {
        body: {
          type: 'object',
          required: ['token', 'role', 'id', 'csr'],
          additionalProperties: false,
          properties: {
            token: { type: 'string', maxLength: 256 },
            role: { enum: ['fileserver', 'proxy'] },
            id: { type: 'integer', minimum: 1, maximum: 1_000_000 },
            csr,
            hosts,
          },
        },
      },
    },
    async (request) => {
      const { role, id, token } = request.body
      // The joining node calls us itself: its address is the connection's.
      const attempt = {
        action: 'node.join',
        node: `${role} ${id}`,
        client: request.ip,
        detail: tokenIdOf(token),
      } as const
      const result = await audited(audit, attempt, () =>
        join.join({ ...request.body, hosts: request.body.hosts ?? [] }),
      )
      request.log.warn(`${role} ${id} joined the cluster`)
      return result
    },
  )

  app.post<{ Body: { csr: string; hosts?: string[] } }>(
    '/v1/certificates/renew',
    {
      schema: {
        body: {
          type: 'object',
          required: ['csr'],
          additionalProperties: false,
          properties: { csr, hosts },
        },
      },
    },
    async (request) => {
      // A renewal keeps the names the node was given when it joined: it cannot add a host it is not.
      const held = namesOf(verifiedPeer(request))
      const names = (request.body.hosts ?? []).filter((host) => held.has(host))
      return join.renew(request.node!, request.body.csr, names)
    },
  )

  app.post<{ Body: { role: TokenRole; ttlMs: number; uses?: number } }>(
    '/v1/tokens',
    {
      schema: {
        body: {
          type: 'object',
          required: ['role', 'ttlMs'],
          additionalProperties: false,
          properties: {
            role: { enum: ['fileserver', 'proxy', 'any'] },
            ttlMs: { type: 'integer', minimum: 0, maximum: 366 * 24 * 3600 * 1000 },
            uses: { type: 'integer', minimum: 1, maximum: 1_000_000 },
          },
        },
      },
    },
    async (request) => {
      const { role, ttlMs, uses } = request.body
      const asked = `role ${role}, ${uses ?? 'unlimited'} uses, ${ttlMs === 0 ? 'no expiry' : `expires in ${ttlMs} ms`}`
      return audited(
        audit,
        { ...byUser(request), action: 'token.create', detail: asked },
        async () => join.create({ ...request.body, createdBy: adminOf(request, 'create join tokens') }),
        (created) => ({ name: created.view.id }),
      )
    },
  )

  app.get('/v1/tokens', async (request) => {
    adminOf(request, 'list join tokens')
    return join.list()
  })

  app.post<{ Body: { id: string } }>(
    '/v1/tokens/revoke',
    {
      schema: {
        body: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', pattern: '^[0-9a-f]{12}$' } },
        },
      },
    },
    async (request) => {
      return audited(
        audit,
        { ...byUser(request), action: 'token.revoke', name: request.body.id },
        async () => {
          adminOf(request, 'revoke join tokens')
          await join.revoke(request.body.id)
          return { revoked: request.body.id }
        },
      )
    },
  )

  app.get('/v1/nodes', async (request) => {
    adminOf(request, 'list nodes')
    return nodes.list()
  })

  app.post<{ Body: { id: number } }>(
    '/v1/nodes/drain',
    {
      schema: {
        body: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: nodeId },
        },
      },
    },
    async (request) => {
      const { id } = request.body
      return audited(
        audit,
        { ...byUser(request), action: 'node.drain', name: `fileserver ${id}` },
        async () => {
          adminOf(request, 'drain nodes')
          await nodes.drain(id)
          return { draining: id }
        },
      )
    },
  )

  app.post<{ Body: { role: 'fileserver' | 'proxy'; id: number; force?: boolean } }>(
    '/v1/nodes/rm',
    {
      schema: {
        body: {
          type: 'object',
          required: ['role', 'id'],
          additionalProperties: false,
          properties: {
            role: { enum: ['fileserver', 'proxy'] },
            id: nodeId,
            force: { type: 'boolean' },
          },
        },
      },
    },
    async (request) => {
      const { role, id, force } = request.body
      const attempt = {
        ...byUser(request),
        action: 'node.rm',
        name: `${role} ${id}`,
        ...(force ? { detail: 'forced' } : {}),
      } as const
      return audited(
        audit,
        attempt,
        async () => {
          const by = adminOf(request, 'remove nodes')
          const removed = await nodes.remove(role, id, force ?? false)
          request.log.warn(`${role} ${id} removed by ${by}: ${removed.revoked} certificates revoked`)
          return removed
        },
        (removed) => ({
          detail: `${removed.revoked} certificates revoked, ${removed.copies} copies to make again`,
        }),
      )
    },
  )
}

/** Which token a join used (its id, never its secret). */
function tokenIdOf(text: string): string {
  try {
    return `token ${parseJoinToken(text).id}`
  } catch {
    return 'not a join token'
  }
}
