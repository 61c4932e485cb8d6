// Removing nodes: listing them, draining a file server (its copies made elsewhere, nothing new placed
// on it), and removing a node for good, which revokes its certificates: the directory, and the file
// servers it tells in their heartbeats, refuse them from then on.

import type { MetadataStore } from '../../metadata/store.ts'
import { DfsError } from '../../protocol/errors.ts'
import type { NodeView } from '../../protocol/types.ts'
import type { DirectoryService } from './service.ts'

/** Serials of revoked certificates, kept in memory for the check on every call. */
export class Revocations {
  private readonly serials = new Set<string>()

  async load(store: MetadataStore, now: number): Promise<void> {
    for (const serial of await store.revokedSerials(now)) this.serials.add(serial.toUpperCase())
  }

  add(serials: string[]): void {
    for (const serial of serials) this.serials.add(serial.toUpperCase())
  }

  has(serial: string): boolean {
    return this.serials.has(serial.toUpperCase())
  }

  list(): string[] {
    return [...this.serials]
  }
}

export class NodeAdmin {
  private readonly store: MetadataStore
  private readonly directory: DirectoryService
  private readonly revocations: Revocations

  constructor(store: MetadataStore, directory: DirectoryService, revocations: Revocations) {
    this.store = store
    this.directory = directory
    this.revocations = revocations
  }

  /** Every node with a certificate, and every file server known by heartbeat. */
  async list(): Promise<NodeView[]> {
    const [certs, servers, held] = await Promise.all([
      this.store.listNodeCerts(),
      this.directory.servers(),
      this.store.heldCounts(),
    ])
    const nodes = new Map<string, NodeView>()
    for (const cert of certs) {
      if (cert.role !== 'fileserver' && cert.role !== 'proxy') continue
      const key = `${cert.role}:${cert.nodeId}`
      // Newest first: the first row of a node is its current certificate.
      if (!nodes.has(key)) {
        nodes.set(key, { role: cert.role, id: cert.nodeId, certExpires: cert.expires, revoked: cert.revoked })
      }
    }
    for (const server of servers) {
      const key = `fileserver:${server.id}`
      const node = nodes.get(key) ?? { role: 'fileserver', id: server.id, certExpires: 0, revoked: false }
      nodes.set(key, { ...node, server, holds: held.get(server.id) ?? 0 })
    }
    // By code units: localeCompare would page ICU's collation data into the directory for three words.
    return [...nodes.values()].sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : a.id - b.id))
  }

  /** Starts draining file server `id`: repair copies what it holds elsewhere, placement skips it. */
  async drain(id: number): Promise<void> {
    if (!(await this.store.setDraining(id, true))) throw new DfsError('DFS_NOT_FOUND', `no file server ${id}`)
    this.directory.repairer?.wake()
  }

  /**
   * Removes a node: its certificates are revoked, and a file server is forgotten with its copies
   * (repair makes them again). Refused while a file server holds the only copy of a version, unless
   * `force` (a server that is gone for good).
   */
  async remove(
    role: 'fileserver' | 'proxy',
    id: number,
    force: boolean,
  ): Promise<{ revoked: number; copies: number }> {
    const known = (await this.store.nodeCerts(role, id)).length > 0
    const server =
      role === 'fileserver' ? (await this.directory.servers()).find((s) => s.id === id) : undefined
    if (!known && !server) throw new DfsError('DFS_NOT_FOUND', `no ${role} ${id}`)
    if (server && !force) {
      const only = await this.store.soleCopies(id)
      if (only.count > 0) {
        throw new DfsError(
          'DFS_CONFLICT',
          `file server ${id} holds the only copy of ${only.count} versions (e.g. ${only.example}): drain it first (dfs node drain ${id}), or --force if it is gone for good`,
        )
      }
    }
    const serials = await this.store.revokeNodeCerts(role, id)
    this.revocations.add(serials)
    let copies = 0
    if (server) {
      copies = await this.directory.dropCopies(id, () => true)
      await this.store.removeServer(id)
      this.directory.repairer?.wake()
    }
    return { revoked: serials.length, copies }
  }
}
