// Route tests run through app.inject(), without TLS: the calling node's identity, which a real
// server reads from the peer certificate, comes from a test header instead (`x-test-node:
// fileserver:3`, or `none` for a caller without a certificate), with a default for the rest.

import type { FastifyRequest } from 'fastify'
import type { NodeIdentity, Role } from '../../src/tls/identity.ts'

export function identifyByHeader(
  fallback: NodeIdentity,
): (request: FastifyRequest) => NodeIdentity | undefined {
  return (request) => {
    const header = request.headers['x-test-node']
    if (header === undefined) return fallback
    if (header === 'none') return undefined
    const [role, id] = String(header).split(':')
    return { role: role as Role, id: Number(id) }
  }
}

export const as = (role: Role, id: number) => ({ 'x-test-node': `${role}:${id}` })
