// A delimited listing (the names directly under a prefix, and the prefixes one level down), walked
// the same way over either SQL store: names are read a short batch at a time from the index, and a
// prefix one level down is passed with one seek to the first name after it, so the cost follows
// the entries listed, not the names below them.

import type { FileVersion } from '../protocol/types.ts'
import type { ChildEntry } from './store.ts'

/** Where a batch starts: after `name`, or at it. */
export interface Bound {
  name: string
  inclusive: boolean
}

/** A current file's name, or a folder marker's prefix. */
export interface NameRow {
  name: string
  marker: boolean
}

/** What a store answers for the walk. */
export interface ChildReader {
  /** File names and folder markers from `from` to below `end` (none: no end), byte order, `limit` at most. */
  names(from: Bound, end: string | undefined, limit: number): Promise<NameRow[]>
  /** Whether a folder marker starts with `prefix`. */
  markedBelow(prefix: string): Promise<boolean>
  /** The current versions of these names, with owners and modes (a name removed meanwhile is left out). */
  files(names: string[]): Promise<FileVersion[]>
}

/** An entry as the walk finds it, before its file's version is read. */
type Found = { kind: 'file'; name: string } | FoundPrefix
type FoundPrefix = { kind: 'prefix'; prefix: string; marked: boolean }

/** Rows read per batch, at most: also the most a batch reads in vain inside one skipped prefix. */
const BATCH = 256

/**
 * The first name after every name that starts with `prefix` (which ends in '/'): the '/' becomes
 * '0', the next character in byte order, so the seek is exact whatever the names hold.
 */
export function pastPrefix(prefix: string): string {
  return `${prefix.slice(0, -1)}0`
}

export async function walkChildren(
  reader: ChildReader,
  prefix: string,
  limit: number,
  after?: string,
): Promise<ChildEntry[]> {
  const end = prefix === '' ? undefined : `${prefix}\u{10ffff}`
  const found: Found[] = []
  let from = startOf(prefix, after)
  while (found.length < limit) {
    const want = Math.min(Math.max(limit - found.length, 16), BATCH)
    const rows = await reader.names(from, end, want)
    /** The prefix one level down that the last rows were under: the rest of it is skipped. */
    let open: FoundPrefix | undefined
    for (const row of rows) {
      if (open && row.name.startsWith(open.prefix)) {
        open.marked ||= row.marker
        continue
      }
      open = undefined
      const sub = subPrefix(prefix, row.name)
      if (sub !== undefined) {
        open = { kind: 'prefix', prefix: sub, marked: row.marker }
        found.push(open)
      } else if (!row.marker) found.push({ kind: 'file', name: row.name })
      if (found.length === limit) break
    }
    const last = rows.at(-1)
    if (rows.length < want || !last || found.length === limit) break
    from = open ? { name: pastPrefix(open.prefix), inclusive: true } : { name: last.name, inclusive: false }
  }
  return resolve(reader, found)
}

/** Where a page starts: after the cursor, and past the whole prefix if the cursor is inside one. */
function startOf(prefix: string, after: string | undefined): Bound {
  if (after === undefined || after < prefix) return { name: prefix, inclusive: true }
  const sub = after.startsWith(prefix) ? subPrefix(prefix, after) : undefined
  return sub === undefined ? { name: after, inclusive: false } : { name: pastPrefix(sub), inclusive: true }
}

/** The prefix one level below `prefix` that `name` is under, if it is not directly under it. */
function subPrefix(prefix: string, name: string): string | undefined {
  const slash = name.indexOf('/', prefix.length)
  return slash === -1 ? undefined : name.slice(0, slash + 1)
}

/** Files with their versions, prefixes with whether a marker is below them, in the order found. */
async function resolve(reader: ChildReader, found: Found[]): Promise<ChildEntry[]> {
  const names = found.flatMap((f) => (f.kind === 'file' ? [f.name] : []))
  const files = new Map((names.length === 0 ? [] : await reader.files(names)).map((f) => [f.name, f]))
  const entries: ChildEntry[] = []
  for (const entry of found) {
    if (entry.kind === 'prefix') {
      entries.push({ ...entry, marked: entry.marked || (await reader.markedBelow(entry.prefix)) })
      continue
    }
    const file = files.get(entry.name)
    if (file) entries.push({ kind: 'file', file })
  }
  return entries
}
