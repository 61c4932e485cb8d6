// The directory's routes for file servers' inventories: the full list of blobs a server holds, in
// pages, and what changed since the last one we acknowledged (inventory.ts). A file server speaks
// only for itself.
//
// The pages have a route of their own (/inventory/pages) rather than a `page` field on the whole
// list's route, which older file servers still send (one request, every hash): each route then has
// its own schema and body limit (a page a few MB, the whole list up to 256 MiB), and the whole
// list's route stays exactly as older file servers know it.

import type { FastifyInstance } from 'fastify'
import { INVENTORY_PAGE_MAX, type InventoryChanges, type InventoryPage } from '../../protocol/types.ts'
import { speaksFor } from '../../server/app.ts'
import type { Inventories } from './inventory.ts'

const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const
const sha256s = { type: 'array', items: sha256 } as const
const params = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
} as const
const clockTime = { type: 'integer', minimum: 0 } as const
// An older file server with a million blobs sends 65 MB of hashes in its whole list; so may a change
// inventory after a burst of writes. Nothing else here is that large.
const bodyLimit = 256 * 1024 * 1024
/** A page of the most hashes, quoted and comma-separated, with room for the rest of its fields. */
const pageBodyLimit = INVENTORY_PAGE_MAX * (64 + 3) + 64 * 1024

export function registerInventoryRoutes(app: FastifyInstance, inventories: Inventories): void {
  app.post<{ Params: { id: number }; Body: { blobs: string[]; asOf?: number } }>(
    '/v1/servers/:id/inventory',
    {
      bodyLimit,
      schema: {
        params,
        body: {
          type: 'object',
          required: ['blobs'],
          additionalProperties: false,
          properties: { blobs: sha256s, asOf: clockTime },
        },
      },
    },
    async (request) => {
      speaksFor(request, 'fileserver', request.params.id)
      return inventories.full(request.params.id, request.body.blobs, request.body.asOf)
    },
  )

  app.post<{ Params: { id: number }; Body: InventoryPage }>(
    '/v1/servers/:id/inventory/pages',
    {
      bodyLimit: pageBodyLimit,
      schema: {
        params,
        body: {
          type: 'object',
          required: ['blobs'],
          additionalProperties: false,
          properties: {
            blobs: { ...sha256s, maxItems: INVENTORY_PAGE_MAX },
            after: sha256,
            last: sha256,
            inventory: { type: 'integer', minimum: 1 },
            asOf: clockTime,
          },
        },
      },
    },
    async (request) => {
      speaksFor(request, 'fileserver', request.params.id)
      return inventories.page(request.params.id, request.body)
    },
  )

  app.post<{ Params: { id: number }; Body: InventoryChanges }>(
    '/v1/servers/:id/inventory/changes',
    {
      bodyLimit,
      schema: {
        params,
        body: {
          type: 'object',
          required: ['base', 'added', 'removed', 'check', 'asOf'],
          additionalProperties: false,
          properties: {
            base: { type: 'integer', minimum: 1 },
            added: sha256s,
            removed: sha256s,
            check: sha256s,
            asOf: clockTime,
          },
        },
      },
    },
    async (request) => {
      speaksFor(request, 'fileserver', request.params.id)
      return inventories.changes(request.params.id, request.body)
    },
  )
}
