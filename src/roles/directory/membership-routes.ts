// The directory's routes for its membership: joining with a token (the one route a node without a
// certificate may call), renewing a certificate, and, for the admin through a proxy, join tokens and
// nodes (list, drain, remove).

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { verifiedPeer } from '../../server/app.ts'
import { namesOf } from '../../tls/identity.ts'
import { actorOf } from './acting-user.ts'
import { requireAdmin } from './accounts.ts'
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
}

export function registerMembershipRoutes(app: FastifyInstance, { join, nodes }: Membership): void {
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
      const result = await join.join({ ...request.body, hosts: request.body.hosts ?? [] })
      request.log.warn(`${request.body.role} ${request.body.id} joined the cluster`)
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
      const by = admin(request, 'create join tokens')
      return join.create({ ...request.body, createdBy: by })
    },
  )

  app.get('/v1/tokens', async (request) => {
    admin(request, 'list join tokens')
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
      admin(request, 'revoke join tokens')
      await join.revoke(request.body.id)
      return { revoked: request.body.id }
    },
  )

  app.get('/v1/nodes', async (request) => {
    admin(request, 'list nodes')
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
      admin(request, 'drain nodes')
      await nodes.drain(request.body.id)
      return { draining: request.body.id }
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
      const by = admin(request, 'remove nodes')
      const removed = await nodes.remove(role, id, force ?? false)
      request.log.warn(`${role} ${id} removed by ${by}: ${removed.revoked} certificates revoked`)
      return removed
    },
  )
}

/** The acting user, who must be an admin; their name. */
function admin(request: FastifyRequest, what: string): string {
  const actor = actorOf(request)
  requireAdmin(actor, what)
  return actor.user
}
