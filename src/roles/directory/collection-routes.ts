// The directory's routes a WebDAV gateway on a proxy needs beyond files, each for a user the proxy
// acts for: folders (MKCOL), rename and copy in one transaction (MOVE, COPY), and dead properties
// (PROPPATCH). Every change goes to the audit log, refused ones too.

import type { FastifyInstance } from 'fastify'
import { DfsError } from '../../protocol/errors.ts'
import { LEASE_KEY_PATTERN } from '../../protocol/lease-key.ts'
import { normaliseName, normalisePrefix } from '../../protocol/names.ts'
import type { CopyRequest, MoveRequest, PropsChange } from '../../protocol/types.ts'
import { actorOf } from './acting-user.ts'
import type { AuditLog } from './audit-log.ts'
import { audited, byUser } from './audited.ts'
import type { DirectoryService } from './service.ts'

const name = { type: 'string', maxLength: 4096 } as const
const lease = { type: 'string', maxLength: 80, pattern: LEASE_KEY_PATTERN } as const
const prefixQuery = {
  type: 'object',
  required: ['prefix'],
  properties: { prefix: name },
} as const
const prefixBody = { ...prefixQuery, additionalProperties: false } as const
const moveBody = {
  type: 'object',
  required: ['from', 'to'],
  additionalProperties: false,
  properties: { from: name, to: name, overwrite: { type: 'boolean' }, lease, toLease: lease },
} as const
const { lease: _fromLease, ...copyProperties } = moveBody.properties
const copyBody = { ...moveBody, properties: copyProperties } as const
// Loose bounds here, so that the stores' own (protocol/dead-props.ts) give the clear refusals.
const propsBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name,
    set: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 1000 },
    remove: { type: 'array', items: { type: 'string', maxLength: 4096 }, maxItems: 1000 },
  },
} as const

export function registerCollectionRoutes(
  app: FastifyInstance,
  service: DirectoryService,
  audit: AuditLog,
): void {
  const { collections } = service

  app.post<{ Body: { prefix: string } }>('/v1/folders', { schema: { body: prefixBody } }, async (request) => {
    const prefix = normalisePrefix(request.body.prefix)
    return audited(
      audit,
      { ...byUser(request), action: 'folder.add', name: prefix },
      () => collections.makeFolder(actorOf(request), prefix),
      (made) => ({ detail: made.created ? 'made' : 'there already' }),
    )
  })

  app.delete<{ Querystring: { prefix: string } }>(
    '/v1/folders',
    { schema: { querystring: prefixQuery } },
    async (request) => {
      const prefix = normalisePrefix(request.query.prefix)
      return audited(
        audit,
        { ...byUser(request), action: 'folder.rm', name: prefix },
        () => collections.removeFolder(actorOf(request), prefix),
        (gone) => ({ detail: gone.removed ? 'removed' : 'there was none' }),
      )
    },
  )

  app.get<{ Querystring: { prefix: string } }>(
    '/v1/folders',
    { schema: { querystring: prefixQuery } },
    async (request) => {
      actorOf(request)
      return collections.folderExists(normalisePrefix(request.query.prefix))
    },
  )

  app.post<{ Body: MoveRequest }>('/v1/move', { schema: { body: moveBody } }, async (request) => {
    const move = {
      ...request.body,
      from: normaliseName(request.body.from),
      to: normaliseName(request.body.to),
    }
    return audited(
      audit,
      { ...byUser(request), action: 'move', name: move.from, detail: `to ${move.to}` },
      () => service.move(actorOf(request), move),
      (moved) => ({ version: moved.to.version, detail: `as version ${moved.to.version}` }),
    )
  })

  app.post<{ Body: CopyRequest }>('/v1/copy', { schema: { body: copyBody } }, async (request) => {
    const copy = {
      ...request.body,
      from: normaliseName(request.body.from),
      to: normaliseName(request.body.to),
    }
    return audited(
      audit,
      { ...byUser(request), action: 'copy', name: copy.from, detail: `to ${copy.to}` },
      () => service.copy(actorOf(request), copy),
      (copied) => ({ version: copied.to.version, detail: `as version ${copied.to.version}` }),
    )
  })

  app.get<{ Querystring: { name: string } }>(
    '/v1/props',
    { schema: { querystring: { type: 'object', required: ['name'], properties: { name } } } },
    async (request) => collections.props(actorOf(request), propsName(request.query.name)),
  )

  app.post<{ Body: PropsChange }>('/v1/props', { schema: { body: propsBody } }, async (request) => {
    const change = { ...request.body, name: propsName(request.body.name) }
    const asked = `set ${Object.keys(change.set ?? {}).length}, remove ${change.remove?.length ?? 0}`
    return audited(audit, { ...byUser(request), action: 'props', name: change.name, detail: asked }, () =>
      collections.setProps(actorOf(request), change),
    )
  })
}

/** A file's name, or a folder's prefix ending in '/' (not the root's). */
function propsName(raw: string): string {
  if (!raw.endsWith('/')) return normaliseName(raw)
  const prefix = normalisePrefix(raw)
  if (prefix === '') throw new DfsError('DFS_BAD_NAME', 'the root has no properties: name a file or a folder')
  return prefix
}
