// WebDAV's plain methods: GET and HEAD (verified bytes, Range, ETag), PUT (streamed, committed like
// `dfs put`, replacing a file under a lease), DELETE (a file, or a folder and all below it) and MKCOL.

import { DfsError } from '../../../protocol/errors.ts'
import { declaredLength, uploadBody } from '../../../server/upload-body.ts'
import { etag, sendFile } from '../send-file.ts'
import type { DavRequest } from './gateway.ts'
import { ifHolds, parseIf, submittedKeys, type IfList } from './if-header.ts'
import { baseName, davPath, hrefOf, parentOf, prefixOf, type DavPath } from './paths.ts'
import { contentTypeOf, multistatus, statusResponse } from './properties.ts'
import { isFolder, locateOrNone, members, resolve, subtree } from './resources.ts'
import { escapeXml } from './xml.ts'

export async function get(dav: DavRequest): Promise<unknown> {
  const { service, request, reply, caller, path } = dav
  if (!path.slash && path.name !== '') {
    // A file, read as GET /v1/files reads it (from what the proxy trusts, without the directory, if
    // it can); only if there is none is the name looked at as a folder.
    try {
      return await sendFile(service, request, reply, caller, path.name, {
        contentType: contentTypeOf(path.name),
        lastModified: true,
      })
    } catch (error) {
      if (!(error instanceof DfsError) || error.code !== 'DFS_NOT_FOUND') throw error
    }
  }
  if (!(await isFolder(caller, path.name))) throw notFound(path)
  return folderPage(dav, path.name)
}

export async function head(dav: DavRequest): Promise<unknown> {
  const resource = await resolve(dav.caller, dav.path)
  if (resource.kind === 'none') throw notFound(dav.path)
  if (resource.kind === 'folder') return dav.reply.type('text/html; charset=utf-8').send()
  const { file } = resource
  return dav.reply
    .header('etag', etag(file.sha256))
    .header('accept-ranges', 'bytes')
    .header('last-modified', new Date(file.mtime).toUTCString())
    .header('content-length', file.size)
    .type(contentTypeOf(file.name))
    .send()
}

/** A plain page of a folder's members, for a browser pointed at /dav/. */
async function folderPage(dav: DavRequest, name: string): Promise<unknown> {
  const rows: string[] = []
  for await (const member of members(dav.caller, name)) {
    const folder = member.kind === 'folder'
    const label = escapeXml(baseName(member.name) + (folder ? '/' : ''))
    rows.push(`<li><a href="${escapeXml(hrefOf(member.name, folder))}">${label}</a></li>`)
  }
  const title = escapeXml(`/${prefixOf(name)}`)
  return dav.reply
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><meta charset="utf-8"><title>dfs ${title}</title><h1>${title}</h1><ul>${rows.join('')}</ul>\n`,
    )
}

export async function put(dav: DavRequest): Promise<unknown> {
  const { service, locks, request, reply, caller, path } = dav
  if (path.slash || path.name === '')
    throw new DfsError('DFS_NOT_ALLOWED', 'a folder takes no bytes: PUT a file')
  const name = path.name
  const lists = ifLists(dav)
  // Asked at once, so a small file's PUT waits for one round trip to the directory, not three.
  const [existing, folder, parent] = await Promise.all([
    locateOrNone(caller, name),
    isFolder(caller, name),
    isFolder(caller, parentOf(name)),
  ])
  if (!existing && folder) throw new DfsError('DFS_NOT_ALLOWED', `${name} is a folder`)
  checkPreconditions(dav, lists, existing && etag(existing.sha256))
  if (!existing && !parent) throw noParent(name)
  const body = uploadBody(request)
  const length = declaredLength(request, undefined)
  const sized = length === undefined ? {} : { length }
  const [key] = submittedKeys(lists, appliesTo(path))
  const version =
    key !== undefined
      ? await service.upload(caller, name, body, { ...sized, lease: key, create: true })
      : existing
        ? await locks.whileHeld(caller, name, (lease) =>
            service.upload(caller, name, body, { ...sized, lease, create: true }),
          )
        : await service.upload(caller, name, body, sized)
  return reply
    .status(existing ? 204 : 201)
    .header('etag', etag(version.sha256))
    .send()
}

export async function remove(dav: DavRequest): Promise<unknown> {
  const { caller, path, reply } = dav
  const resource = await resolve(caller, path)
  if (resource.kind === 'none') throw notFound(path)
  const lists = ifLists(dav)
  if (resource.kind === 'file') {
    checkPreconditions(dav, lists, etag(resource.file.sha256))
    await removeFile(dav, resource.name, submittedKeys(lists, appliesTo(path))[0])
    return reply.status(204).send()
  }
  if (resource.name === '') throw new DfsError('DFS_FORBIDDEN', 'the root of the namespace cannot be removed')
  const failed = await removeTree(dav, resource.name)
  if (failed.length > 0) return sendMultistatus(dav, failed)
  return reply.status(204).send()
}

/** Removes a file; one the client holds the lock of is released first (dfs refuses rm while leased). */
export async function removeFile(dav: DavRequest, name: string, key: string | undefined): Promise<void> {
  if (key !== undefined) await dav.caller.directory.release(name, key)
  await dav.caller.directory.remove(name)
}

/**
 * Removes every name below a folder, then the folders (their MKCOL marks); a folder with a member
 * that could not go stays. Answers the failures, as multistatus entries.
 */
export async function removeTree(dav: DavRequest, name: string): Promise<string[]> {
  const failed: string[] = []
  const kept = new Set<string>()
  const folders: string[] = [name]
  for await (const member of subtree(dav.caller, name)) {
    if (member.kind === 'folder') {
      folders.push(member.name)
      continue
    }
    try {
      await dav.caller.directory.remove(member.name)
    } catch (error) {
      failed.push(statusResponse(hrefOf(member.name, false), statusOf(error)))
      // Its folders stay, up to the one being removed.
      for (let parent = parentOf(member.name); ; parent = parentOf(parent)) {
        kept.add(parent)
        if (parent === name || parent === '') break
      }
    }
  }
  for (const folder of folders.reverse()) {
    if (!kept.has(folder)) await dav.caller.directory.removeFolder(prefixOf(folder))
  }
  return failed
}

export async function mkcol(dav: DavRequest): Promise<unknown> {
  const { request, reply, caller, path } = dav
  if (request.body !== undefined && request.headers['content-length'] !== '0')
    throw new DfsError('DFS_UNSUPPORTED_MEDIA_TYPE', 'MKCOL takes no body')
  if (path.name === '') throw new DfsError('DFS_NOT_ALLOWED', 'the root exists')
  const resource = await resolve(caller, { name: path.name, slash: false })
  if (resource.kind !== 'none') throw new DfsError('DFS_NOT_ALLOWED', `${path.name} exists`)
  await requireParent(dav, path.name)
  await caller.directory.makeFolder(prefixOf(path.name))
  return reply.status(201).send()
}

/** A new name's folder must exist (RFC 4918: 409 otherwise); the root always does. */
export async function requireParent(dav: DavRequest, name: string): Promise<void> {
  if (!(await isFolder(dav.caller, parentOf(name)))) throw noParent(name)
}

function noParent(name: string): DfsError {
  return new DfsError('DFS_CONFLICT', `the folder ${parentOf(name)}/ does not exist: make it first (MKCOL)`)
}

export function ifLists(dav: DavRequest): IfList[] {
  const header = dav.request.headers.if
  return typeof header === 'string' ? parseIf(header) : []
}

/** Whether an If list is about the resource at `path` (untagged lists are about the request's own). */
export function appliesTo(path: DavPath, own = true): (list: IfList) => boolean {
  return (list) => {
    if (list.resource === undefined) return own
    try {
      const tagged = new URL(list.resource, 'https://localhost').pathname
      return davPath(tagged).name === path.name
    } catch {
      return false
    }
  }
}

/** If, If-Match and If-None-Match against the resource's current ETag; DFS_PRECONDITION if one fails. */
export function checkPreconditions(dav: DavRequest, lists: IfList[], current: string | undefined): void {
  const headers = dav.request.headers
  const ifMatch = headers['if-match']
  const ifNoneMatch = headers['if-none-match']
  const fails =
    !ifHolds(lists, appliesTo(dav.path), { ...(current ? { etag: current } : {}), holds: () => undefined }) ||
    (ifMatch !== undefined && (current === undefined || (ifMatch !== '*' && !listed(ifMatch, current)))) ||
    (ifNoneMatch !== undefined &&
      current !== undefined &&
      (ifNoneMatch === '*' || listed(ifNoneMatch, current)))
  if (fails)
    throw new DfsError(
      'DFS_PRECONDITION',
      `a condition of the request does not hold for ${dav.path.name || '/'}`,
    )
}

function listed(header: string, tag: string): boolean {
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === tag)
}

export function statusOf(error: unknown): number {
  return error instanceof DfsError ? error.status : 500
}

export function sendMultistatus(dav: DavRequest, responses: string[]): unknown {
  return dav.reply.status(207).type('application/xml; charset=utf-8').send(multistatus(responses))
}

export function notFound(path: DavPath): DfsError {
  return new DfsError('DFS_NOT_FOUND', `no such file or folder: ${path.name || '/'}`)
}
