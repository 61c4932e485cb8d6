// LOCK and UNLOCK: exclusive write locks on files, as dfs leases (locks.ts). LOCK on a name that does
// not exist makes it, empty, under the new lock (RFC 4918's locked empty resource); LOCK with no body
// refreshes the lock its If header names.

import { Readable } from 'node:stream'
import { DfsError } from '../../../protocol/errors.ts'
import type { DavRequest } from './gateway.ts'
import { leaseKeyOf, lockToken, submittedKeys } from './if-header.ts'
import { lockSeconds } from './locks.ts'
import { activeLock, lockDiscovery } from './properties.ts'
import { appliesTo, ifLists, notFound, requireParent } from './read-write.ts'
import { locateOrNone, resolve } from './resources.ts'
import { DAV, child, serialise } from './xml.ts'

const XML = 'application/xml; charset=utf-8'

export async function lock(dav: DavRequest): Promise<unknown> {
  const { caller, locks, path, reply, service } = dav
  const seconds = lockSeconds(dav.request.headers.timeout as string | undefined)
  const info = await dav.xml()
  // A refresh names its lock in the If header (some clients send the lockinfo again with it).
  const [key] = submittedKeys(ifLists(dav), appliesTo(path))
  if (!info || key !== undefined) return refresh(dav, key, seconds)
  if (info.ns !== DAV || info.name !== 'lockinfo')
    throw new DfsError('DFS_BAD_REQUEST', 'LOCK takes a DAV:lockinfo body')
  if (!child(child(info, DAV, 'lockscope'), DAV, 'exclusive'))
    throw new DfsError('DFS_PRECONDITION', 'dfs locks are exclusive: shared locks are not kept')
  if (!child(child(info, DAV, 'locktype'), DAV, 'write'))
    throw new DfsError('DFS_PRECONDITION', 'dfs locks are write locks')
  const resource = await resolve(caller, { name: path.name, slash: false })
  if (resource.kind === 'folder')
    throw new DfsError('DFS_FORBIDDEN', 'dfs locks files, not folders: lock the files in it')
  if (resource.kind === 'none') await requireParent(dav, path.name)
  const ownerElement = child(info, DAV, 'owner')
  // Kept as the client sent it: each child declares its own namespace.
  const owner = ownerElement
    ? `<D:owner>${ownerElement.content.map((c) => (typeof c === 'string' ? c : serialise(c))).join('')}</D:owner>`
    : undefined
  const lease = await locks.lock(caller, path.name, seconds, owner)
  if (resource.kind === 'none') {
    try {
      await service.upload(caller, path.name, Readable.from([]), {
        length: 0,
        lease: lease.key,
        create: true,
      })
    } catch (error) {
      await locks.unlock(caller, path.name, lease.key).catch(() => undefined)
      throw error
    }
  }
  const token = lockToken(lease.key)
  const shown = {
    state: { ...lease, waiting: 0 },
    token,
    timeoutSeconds: seconds,
    ...(owner ? { owner } : {}),
  }
  return reply
    .status(resource.kind === 'none' ? 201 : 200)
    .header('lock-token', `<${token}>`)
    .type(XML)
    .send(lockBody(`<D:lockdiscovery>${activeLock(shown)}</D:lockdiscovery>`))
}

async function refresh(dav: DavRequest, key: string | undefined, seconds: number): Promise<unknown> {
  const { caller, locks, path, reply } = dav
  if (key === undefined)
    throw new DfsError('DFS_BAD_REQUEST', 'a LOCK refresh names its lock token in an If header')
  await locks.refresh(caller, path.name, key, seconds)
  const located = await locateOrNone(caller, path.name)
  if (!located) throw notFound(path)
  const view = locks.view(caller, path.name, located.lock)
  return reply
    .status(200)
    .type(XML)
    .send(lockBody(lockDiscovery(view && { ...view, token: lockToken(key) })))
}

export async function unlock(dav: DavRequest): Promise<unknown> {
  const header = dav.request.headers['lock-token']
  // RFC 4918 puts it in angle brackets; some clients send it bare.
  const token = typeof header === 'string' ? /^<?([^<>]+)>?$/.exec(header.trim())?.[1] : undefined
  const key = token === undefined ? undefined : leaseKeyOf(token)
  if (key === undefined)
    throw new DfsError('DFS_BAD_REQUEST', 'UNLOCK needs the Lock-Token header LOCK answered')
  await dav.locks.unlock(dav.caller, dav.path.name, key)
  return dav.reply.status(204).send()
}

function lockBody(inner: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:">${inner}</D:prop>\n`
}
