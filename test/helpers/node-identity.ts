// Route tests run through app.inject(), without TLS: the calling node's identity, which a real
// server reads from the peer certificate, comes from a test header instead (`x-test-node:
// fileserver:3`, or `none` for a caller without a certificate), with a default for the rest.

import type { FastifyRequest } from 'fastify'
import type { MetadataStore } from '../../src/metadata/store.ts'
import { NodeAdmin, Revocations } from '../../src/roles/directory/node-admin.ts'
import type { DirectoryService } from '../../src/roles/directory/service.ts'
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

/** The directory's node administration over a store, for an app under test. */
export function membership(store: MetadataStore, service: DirectoryService) {
  const revocations = new Revocations()
  return { revocations, nodes: new NodeAdmin(store, service, revocations) }
}
