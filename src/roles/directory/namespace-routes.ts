// The directory's routes for the namespace, each for a user a proxy acts for (see acting-user.ts):
// placing and committing writes, write leases, reading where a file lives and its block list,
// listing, history, restore, removal, and owners and modes. Commits come from the primary file
// server, naming the writer. Writes, removals, restores and changes of owner or mode go to the audit
// log, refused ones too.

import type { FastifyInstance } from 'fastify'
import { MAX_BLOCK_LIST_LENGTH } from '../../protocol/blocks.ts'
import { normaliseName, normalisePrefix } from '../../protocol/names.ts'
import { CLIENT_ADDRESS_SCHEMA } from '../../protocol/client-address.ts'
import { LEASE_KEY_PATTERN } from '../../protocol/lease-key.ts'
import { octalMode, type Perms } from '../../protocol/permissions.ts'
import { listQuery, nameQuery, permsBody, type ListQuery } from '../../protocol/schemas.ts'
import type { CommitRequest, CommittedVersion, FileVersion } from '../../protocol/types.ts'
import { abortOnHangUp, speaksFor } from '../../server/app.ts'
import { actorOf, proxyOf } from './acting-user.ts'
import type { AuditLog } from './audit-log.ts'
import { audited, auditedRefusal, byUser, type Outcome } from './audited.ts'
import type { DirectoryService } from './service.ts'

const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const
const serverId = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const
const serverIds = { type: 'array', items: serverId, maxItems: 64, uniqueItems: true } as const
const name = { type: 'string', maxLength: 4096 } as const
const lease = { type: 'string', maxLength: 80, pattern: LEASE_KEY_PATTERN } as const
const ttlMs = { type: 'integer', minimum: 1000, maximum: 600_000 } as const
const user = { type: 'string', maxLength: 64 } as const
const locateQuery = {
  ...nameQuery,
  properties: { ...nameQuery.properties, blocks: { type: 'boolean' } },
} as const
const blocksQuery = {
  ...nameQuery,
  required: ['name', 'sha256'],
  properties: { ...nameQuery.properties, sha256 },
} as const
const leaseBody = {
  type: 'object',
  required: ['name', 'lease'],
  additionalProperties: false,
  properties: { name, lease, ttlMs },
} as const

export function registerNamespaceRoutes(
  app: FastifyInstance,
  service: DirectoryService,
  audit: AuditLog,
): void {
  app.post<{ Body: { name: string; size: number; lease?: string; create?: boolean; avoid?: number[] } }>(
    '/v1/placements',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'size'],
          additionalProperties: false,
          properties: {
            name,
            size: { type: 'integer', minimum: 0 },
            lease,
            create: { type: 'boolean' },
            avoid: serverIds,
          },
        },
      },
    },
    async (request) => {
      const { name: raw, size, ...options } = request.body
      const fileName = normaliseName(raw)
      return auditedRefusal(audit, { ...byUser(request), action: 'write', name: fileName }, () =>
        service.place(actorOf(request), proxyOf(request), fileName, size, options),
      )
    },
  )

  app.post<{ Body: CommitRequest }>(
    '/v1/commits',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'expectedVersion', 'sha256', 'size', 'primary', 'holders', 'writer'],
          additionalProperties: false,
          properties: {
            name,
            expectedVersion: { type: 'integer', minimum: 0 },
            sha256,
            size: { type: 'integer', minimum: 0 },
            // Bounded so the commit fits the JSON body limit: lists of files up to 64 GiB (see
            // MAX_LISTED_BLOCKS); a file server commits a bigger file without one.
            blocks: { type: 'string', maxLength: MAX_BLOCK_LIST_LENGTH },
            primary: serverId,
            holders: { type: 'array', items: serverId, minItems: 1, maxItems: 16, uniqueItems: true },
            writer: user,
            lease,
            client: CLIENT_ADDRESS_SCHEMA,
            proxy: serverId,
          },
        },
      },
    },
    async (request): Promise<CommittedVersion> => {
      // Only the primary commits, and only for itself.
      speaksFor(request, 'fileserver', request.body.primary)
      // The writer's address is for the audit log only; the version does not keep it.
      const { client, ...body } = request.body
      const commit = { ...body, name: normaliseName(body.name) }
      const attempt = {
        action: 'write',
        user: commit.writer,
        node: `fileserver ${commit.primary}`,
        ...(client === undefined ? {} : { client }),
        name: commit.name,
        detail: `${commit.size} bytes, sha256 ${commit.sha256.slice(0, 16)}`,
      } as const
      const version = await audited(audit, attempt, () => service.commit(commit), versionOf)
      return { ...version, wanted: service.config.replicas }
    },
  )

  app.post<{ Body: { name: string; ttlMs: number; waitMs: number } }>(
    '/v1/locks',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'ttlMs', 'waitMs'],
          additionalProperties: false,
          properties: { name, ttlMs, waitMs: { type: 'integer', minimum: 0, maximum: 3_600_000 } },
        },
      },
    },
    async (request, reply) => {
      const { name: fileName, ttlMs: ttl, waitMs } = request.body
      // A waiter whose proxy hangs up leaves the line.
      const gone = abortOnHangUp(reply)
      return service.acquire(actorOf(request), proxyOf(request), normaliseName(fileName), ttl, waitMs, gone)
    },
  )

  app.post<{ Body: { name: string; lease: string; ttlMs?: number } }>(
    '/v1/locks/renew',
    { schema: { body: { ...leaseBody, required: ['name', 'lease', 'ttlMs'] } } },
    async (request) =>
      service.renew(
        actorOf(request),
        proxyOf(request),
        normaliseName(request.body.name),
        request.body.lease,
        request.body.ttlMs ?? 30_000,
      ),
  )

  app.post<{ Body: { name: string; lease: string } }>(
    '/v1/locks/release',
    { schema: { body: leaseBody } },
    async (request) => ({
      released: await service.release(
        actorOf(request),
        proxyOf(request),
        normaliseName(request.body.name),
        request.body.lease,
      ),
    }),
  )

  // Where a file lives; ?blocks=true adds its block list (up to 700 KB, so only when asked).
  app.get<{ Querystring: { name: string; blocks?: boolean } }>(
    '/v1/files',
    { schema: { querystring: locateQuery } },
    async (request) => {
      const { name: fileName, blocks } = request.query
      return service.locate(actorOf(request), normaliseName(fileName), { blocks: blocks === true })
    },
  )

  // The block list of the newest kept version of a name with given bytes (the CLI's, via its proxy).
  app.get<{ Querystring: { name: string; sha256: string } }>(
    '/v1/blocks',
    { schema: { querystring: blocksQuery } },
    async (request) => {
      const { name: fileName, sha256: sha } = request.query
      return service.versionBlocks(actorOf(request), normaliseName(fileName), sha)
    },
  )

  app.delete<{ Querystring: { name: string } }>(
    '/v1/files',
    { schema: { querystring: nameQuery } },
    async (request) => {
      const fileName = normaliseName(request.query.name)
      return audited(
        audit,
        { ...byUser(request), action: 'rm', name: fileName },
        () => service.remove(actorOf(request), fileName),
        versionOf,
      )
    },
  )

  // One page of names; `next` is the `after` of the next page. With delimiter=/, only the names
  // directly under the prefix, and the prefixes one level down.
  app.get<{ Querystring: ListQuery }>('/v1/list', { schema: { querystring: listQuery } }, async (request) => {
    const { prefix, limit, after, delimiter } = request.query
    return service.list(actorOf(request), normalisePrefix(prefix), limit ?? 1000, after, delimiter)
  })

  app.get<{ Querystring: { name: string } }>(
    '/v1/versions',
    { schema: { querystring: nameQuery } },
    async (request) => service.history(actorOf(request), normaliseName(request.query.name)),
  )

  app.post<{ Body: { name: string; version: number } }>(
    '/v1/restore',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'version'],
          additionalProperties: false,
          properties: { name, version: { type: 'integer', minimum: 1 } },
        },
      },
    },
    async (request) => {
      const fileName = normaliseName(request.body.name)
      const { version } = request.body
      return audited(
        audit,
        { ...byUser(request), action: 'restore', name: fileName, detail: `version ${version}` },
        () => service.restore(actorOf(request), fileName, version),
        (restored) => ({ version: restored.version, detail: `as version ${restored.version}` }),
      )
    },
  )

  // Owners and modes: of one name, or with a prefix ending in '/', the rule for the names below it.
  app.post<{ Body: { name: string; mode?: string; owner?: string; group?: string } }>(
    '/v1/perms',
    {
      schema: {
        body: permsBody,
      },
    },
    async (request) => {
      const { name: target, mode, owner, group } = request.body
      const actor = actorOf(request)
      const by = byUser(request)
      if (target.endsWith('/')) {
        const prefix = normalisePrefix(target)
        return audited(
          audit,
          { ...by, action: 'rule', name: prefix, detail: asked({ mode, owner, group }) },
          () => service.access.setRule(actor, prefix, { mode, owner, group }),
          (rule) => ({ detail: `${permsOf(rule).detail}, ${rule.changed} names changed` }),
        )
      }
      const fileName = normaliseName(target)
      const changed =
        owner !== undefined || group !== undefined
          ? await audited(
              audit,
              { ...by, action: 'chown', name: fileName, detail: asked({ owner, group }) },
              () => service.access.chown(actor, fileName, { owner, group }),
              permsOf,
            )
          : undefined
      if (mode === undefined) return changed
      return audited(
        audit,
        { ...by, action: 'chmod', name: fileName, detail: asked({ mode }) },
        () => service.access.chmod(actor, fileName, mode),
        permsOf,
      )
    },
  )

  app.get('/v1/perms/rules', async (request) => {
    actorOf(request)
    return service.access.listRules()
  })
}

function versionOf(file: FileVersion): Outcome {
  return { version: file.version }
}

/** Owner, group and mode as they are now. */
function permsOf(perms: Perms): Outcome {
  return { detail: `now ${perms.owner}:${perms.group} ${octalMode(perms.mode)}` }
}

/** What a chmod or chown asked for. */
function asked(change: { mode?: string; owner?: string; group?: string }): string {
  return Object.entries(change)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ')
}
