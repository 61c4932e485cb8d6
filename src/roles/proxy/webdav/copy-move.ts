// COPY and MOVE. A file is copied or moved by the directory in one transaction (no byte moves: the
// new name points at the same blobs); a folder name by name, each one atomic, with the failures
// answered in a 207. Overwrite: T (the default) replaces what is at the destination, F refuses (412).

import { DfsError } from '../../../protocol/errors.ts'
import type { DavRequest } from './gateway.ts'
import { submittedKeys } from './if-header.ts'
import { destinationPath, hrefOf, prefixOf, type DavPath } from './paths.ts'
import { statusResponse } from './properties.ts'
import {
  appliesTo,
  ifLists,
  notFound,
  removeFile,
  removeTree,
  requireParent,
  sendMultistatus,
  statusOf,
} from './read-write.ts'
import { resolve, subtree, type Resource } from './resources.ts'

type Verb = 'copy' | 'move'

interface Plan {
  verb: Verb
  from: Resource
  to: DavPath
  overwrite: boolean
  fromKey?: string
  toKey?: string
}

export async function copyOrMove(dav: DavRequest, verb: Verb): Promise<unknown> {
  const { caller, path, request } = dav
  const to = destinationPath(request.headers.destination as string | undefined, request.headers.host)
  const overwrite = overwriteOf(request.headers.overwrite)
  const from = await resolve(caller, path)
  if (from.kind === 'none') throw notFound(path)
  if (from.name === '' || to.name === '')
    throw new DfsError('DFS_FORBIDDEN', `the root cannot be ${verb === 'copy' ? 'copied' : 'moved'}`)
  if (to.name === from.name || (from.kind === 'folder' && to.name.startsWith(prefixOf(from.name))))
    throw new DfsError('DFS_FORBIDDEN', `${verb} of ${from.name} onto itself or into itself`)
  const depth = request.headers.depth ?? 'infinity'
  if (from.kind === 'folder' && (depth === '1' || (verb === 'move' && depth !== 'infinity')))
    throw new DfsError(
      'DFS_BAD_REQUEST',
      `a folder's ${verb} has Depth infinity${verb === 'copy' ? ' or 0' : ''}`,
    )
  const existing = await resolve(caller, { name: to.name, slash: false })
  if (existing.kind !== 'none' && !overwrite)
    throw new DfsError('DFS_PRECONDITION', `${to.name} exists (Overwrite: F)`)
  if (existing.kind === 'none') await requireParent(dav, to.name)
  const lists = ifLists(dav)
  const plan: Plan = {
    verb,
    from,
    to,
    overwrite,
    ...optional('fromKey', submittedKeys(lists, appliesTo(path))[0]),
    ...optional('toKey', submittedKeys(lists, appliesTo(to, false))[0]),
  }
  // A folder at the destination, or a file where a folder goes, is removed first (RFC 4918: as a
  // DELETE with Depth infinity); a file onto a file is replaced in the same transaction.
  if (existing.kind === 'folder') {
    const failed = await removeTree(dav, existing.name)
    if (failed.length > 0) return sendMultistatus(dav, failed)
  } else if (existing.kind === 'file' && from.kind === 'folder')
    await removeFile(dav, existing.name, plan.toKey)
  const failed =
    from.kind === 'file'
      ? await oneFile(dav, plan, from.name, to.name)
      : await folder(dav, plan, depth === '0')
  if (failed.length > 0) return sendMultistatus(dav, failed)
  return dav.reply.status(existing.kind === 'none' ? 201 : 204).send()
}

async function oneFile(dav: DavRequest, plan: Plan, from: string, to: string): Promise<string[]> {
  const { directory } = dav.caller
  const common = { from, to, overwrite: plan.overwrite, ...optional('toLease', plan.toKey) }
  if (plan.verb === 'copy') await directory.copy(common)
  else await directory.move({ ...common, ...optional('lease', plan.fromKey) })
  return []
}

/** A folder, name by name: the destination's folders are made as they are met. */
async function folder(dav: DavRequest, plan: Plan, shallow: boolean): Promise<string[]> {
  const { directory } = dav.caller
  const from = plan.from.name
  const target = (name: string) => plan.to.name + name.slice(from.length)
  await directory.makeFolder(prefixOf(plan.to.name))
  if (shallow) return []
  const failed: string[] = []
  const folders: string[] = [from]
  for await (const member of subtree(dav.caller, from)) {
    if (member.kind === 'folder') {
      folders.push(member.name)
      await directory.makeFolder(prefixOf(target(member.name)))
      continue
    }
    try {
      await oneFile(dav, { ...plan, overwrite: true }, member.name, target(member.name))
    } catch (error) {
      failed.push(statusResponse(hrefOf(member.name, false), statusOf(error)))
    }
  }
  if (plan.verb === 'move' && failed.length === 0) {
    for (const name of folders.reverse()) await directory.removeFolder(prefixOf(name))
  }
  return failed
}

function overwriteOf(header: string | string[] | undefined): boolean {
  if (header === undefined) return true
  if (header === 'T' || header === 'F') return header === 'T'
  throw new DfsError('DFS_BAD_REQUEST', 'Overwrite is T or F')
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string }
}
