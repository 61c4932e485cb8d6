// What a WebDAV path is in the namespace: a file (a dfs name), a folder (a prefix some name is
// under, or an empty one kept by MKCOL), or nothing yet; and a folder's members, page by page.

import { DfsError } from '../../../protocol/errors.ts'
import type { FileVersion, Located } from '../../../protocol/types.ts'
import type { Caller } from '../service.ts'
import { prefixOf, type DavPath } from './paths.ts'

export type Resource =
  | { kind: 'file'; name: string; file: Located }
  | { kind: 'folder'; name: string }
  | { kind: 'none'; name: string }

/** A folder's member: a file, or a folder below it (by its name, without the slash). */
export type Member = { kind: 'file'; name: string; file: FileVersion } | { kind: 'folder'; name: string }

const PAGE = 1000

/**
 * The resource at `path`. A name that is both a file and a prefix (dfs allows `a` and `a/b`) is the
 * file, unless the URL ends in '/'.
 */
export async function resolve(caller: Caller, path: DavPath): Promise<Resource> {
  const { name } = path
  if (name === '') return { kind: 'folder', name }
  if (!path.slash) {
    const file = await locateOrNone(caller, name)
    if (file) return { kind: 'file', name, file }
  }
  return (await isFolder(caller, name)) ? { kind: 'folder', name } : { kind: 'none', name }
}

export async function locateOrNone(caller: Caller, name: string): Promise<Located | undefined> {
  try {
    return await caller.directory.locate(name)
  } catch (error) {
    if (error instanceof DfsError && error.code === 'DFS_NOT_FOUND') return undefined
    throw error
  }
}

/** A folder exists if MKCOL made it or some name the caller may read is below it. */
export async function isFolder(caller: Caller, name: string): Promise<boolean> {
  if (name === '') return true
  const prefix = prefixOf(name)
  const [marker, page] = await Promise.all([
    caller.directory.folderExists(prefix),
    caller.directory.list({ prefix, delimiter: '/', limit: 1 }),
  ])
  return marker.exists || page.files.length > 0 || (page.prefixes?.length ?? 0) > 0
}

/** The folder's direct members, in name order, a page at a time from the directory. */
export async function* members(caller: Caller, name: string): AsyncGenerator<Member> {
  const prefix = prefixOf(name)
  let after: string | undefined
  for (;;) {
    const page = await caller.directory.list({
      prefix,
      delimiter: '/',
      limit: PAGE,
      ...(after === undefined ? {} : { after }),
    })
    const entries: Member[] = [
      ...page.files.map((file) => ({ kind: 'file' as const, name: file.name, file })),
      ...(page.prefixes ?? []).map((p) => ({ kind: 'folder' as const, name: p.slice(0, -1) })),
    ]
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    yield* entries
    if (page.next === undefined) return
    after = page.next
  }
}

/** Every name at or below a folder, depth first (files, and the folders they are in). */
export async function* subtree(caller: Caller, name: string): AsyncGenerator<Member> {
  for await (const member of members(caller, name)) {
    yield member
    if (member.kind === 'folder') yield* subtree(caller, member.name)
  }
}
