// PROPFIND (Depth 0 and 1; infinity is refused, as RFC 4918 lets a server do) and PROPPATCH (dead
// properties, kept per name at the directory, all or nothing). A folder's listing streams out as the
// directory pages it, so a folder of a million names never sits in memory.

import { Readable } from 'node:stream'
import { DfsError } from '../../../protocol/errors.ts'
import type { DavRequest } from './gateway.ts'
import { appliesTo, checkPreconditions, ifLists, notFound, sendMultistatus } from './read-write.ts'
import { submittedKeys } from './if-header.ts'
import { hrefOf } from './paths.ts'
import {
  isProtected,
  propRequest,
  propResponse,
  propsName,
  propstat,
  response,
  wantsDead,
  wantsLock,
  wantsQuota,
  type PropRequest,
  type PropSubject,
} from './properties.ts'
import { members, resolve, type Member, type Resource } from './resources.ts'
import { DAV, childrenNamed, clark, emptyElement, serialise } from './xml.ts'

const XML = 'application/xml; charset=utf-8'

export async function propfind(dav: DavRequest): Promise<unknown> {
  const depth = dav.request.headers.depth ?? 'infinity'
  if (depth !== '0' && depth !== '1') {
    return dav.reply
      .status(403)
      .type(XML)
      .send(
        '<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>\n',
      )
  }
  const wanted = propRequest(await dav.xml())
  if (wanted.kind === 'props' && wanted.keys.length === 0)
    throw new DfsError('DFS_BAD_REQUEST', 'PROPFIND names no property')
  const resource = await resolve(dav.caller, dav.path)
  if (resource.kind === 'none') throw notFound(dav.path)
  const first = propResponse(await subjectOf(dav, resource, wanted), wanted)
  const listed = depth === '1' && resource.kind === 'folder' ? members(dav.caller, resource.name) : undefined
  return dav.reply
    .status(207)
    .type(XML)
    .send(Readable.from(listing(dav, first, listed, wanted)))
}

async function* listing(
  dav: DavRequest,
  first: string,
  listed: AsyncGenerator<Member> | undefined,
  wanted: PropRequest,
): AsyncGenerator<string> {
  yield `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">${first}`
  // A member's lock and dead properties cost a call each: looked up only when asked for by name.
  const explicit = wanted.kind === 'props'
  for await (const member of listed ?? []) {
    const subject: PropSubject =
      member.kind === 'file'
        ? { name: member.name, folder: false, file: member.file }
        : { name: member.name, folder: true }
    if (explicit && wantsDead(wanted))
      subject.dead = await deadProps(dav, member.name, member.kind === 'folder')
    if (explicit && wantsLock(wanted) && member.kind === 'file') {
      const located = await dav.caller.directory.locate(member.name).catch(() => undefined)
      subject.lock = dav.locks.view(dav.caller, member.name, located?.lock)
    }
    yield propResponse(subject, wanted)
  }
  yield '</D:multistatus>\n'
}

async function subjectOf(dav: DavRequest, resource: Resource, wanted: PropRequest): Promise<PropSubject> {
  const folder = resource.kind === 'folder'
  const subject: PropSubject = { name: resource.name, folder }
  if (resource.kind === 'file') {
    subject.file = resource.file
    subject.lock = dav.locks.view(dav.caller, resource.name, resource.file.lock)
  }
  if (wantsDead(wanted)) subject.dead = await deadProps(dav, resource.name, folder)
  if (wantsQuota(wanted)) subject.quota = await quota(dav)
  return subject
}

async function deadProps(dav: DavRequest, name: string, folder: boolean): Promise<Record<string, string>> {
  if (name === '') return {}
  return (await dav.caller.directory.props(propsName(name, folder))).props
}

/** Bytes the cluster can still take (free space over R copies), and bytes of current versions. */
async function quota(dav: DavRequest): Promise<{ available: number; used: number }> {
  const status = await dav.caller.directory.status()
  const free = status.servers.filter((s) => s.live).reduce((sum, s) => sum + s.freeBytes, 0)
  return { available: Math.floor(free / Math.max(1, status.replicas)), used: status.bytes }
}

/** One property change of a PROPPATCH, in document order. */
interface Change {
  key: string
  /** The property element as kept; absent for a removal. */
  value?: string
}

export async function proppatch(dav: DavRequest): Promise<unknown> {
  const body = await dav.xml()
  if (!body || body.ns !== DAV || body.name !== 'propertyupdate')
    throw new DfsError('DFS_BAD_REQUEST', 'PROPPATCH takes a DAV:propertyupdate body')
  const changes = changesOf(body)
  const resource = await resolve(dav.caller, dav.path)
  if (resource.kind === 'none') throw notFound(dav.path)
  const lists = ifLists(dav)
  if (resource.kind === 'file') {
    checkPreconditions(dav, lists, undefined)
    const lock = resource.file.lock
    if (lock && submittedKeys(lists, appliesTo(dav.path)).length === 0)
      throw new DfsError('DFS_LOCKED', `${resource.name} is locked by ${lock.user}`)
  }
  const href = hrefOf(resource.name, resource.kind === 'folder')
  const refused = changes.filter((c) => isProtected(c.key))
  if (refused.length > 0 || resource.name === '') {
    // All or nothing: the protected ones are refused, the rest not done.
    const forbidden = resource.name === '' ? changes : refused
    const rest = changes.filter((c) => !forbidden.includes(c))
    return sendMultistatus(dav, [
      response(href, [
        propstat(
          forbidden.map((c) => emptyElement(c.key)),
          403,
        ),
        ...(rest.length
          ? [
              propstat(
                rest.map((c) => emptyElement(c.key)),
                424,
              ),
            ]
          : []),
      ]),
    ])
  }
  const set: Record<string, string> = {}
  const removed = new Set<string>()
  for (const change of changes) {
    if (change.value === undefined) {
      delete set[change.key]
      removed.add(change.key)
    } else {
      set[change.key] = change.value
      removed.delete(change.key)
    }
  }
  await dav.caller.directory.setProps({
    name: propsName(resource.name, resource.kind === 'folder'),
    set,
    remove: [...removed],
  })
  return sendMultistatus(dav, [
    response(href, [
      propstat(
        changes.map((c) => emptyElement(c.key)),
        200,
      ),
    ]),
  ])
}

function changesOf(body: NonNullable<Awaited<ReturnType<DavRequest['xml']>>>): Change[] {
  const changes: Change[] = []
  for (const op of body.children) {
    if (op.ns !== DAV || (op.name !== 'set' && op.name !== 'remove')) continue
    for (const prop of childrenNamed(op, DAV, 'prop')) {
      for (const element of prop.children) {
        changes.push({ key: clark(element), ...(op.name === 'set' ? { value: serialise(element) } : {}) })
      }
    }
  }
  if (changes.length === 0) throw new DfsError('DFS_BAD_REQUEST', 'PROPPATCH sets or removes no property')
  return changes
}
