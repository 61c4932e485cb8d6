// A delimited listing for one user (GET /v1/list?delimiter=/): the names directly under a prefix
// that they may read, and the prefixes one level down that hold a folder marker or a name they may
// read. Like the plain listing, one call looks at a bounded number of names and returns a cursor for
// the rest, so a user who may read little of a large tree gets short pages, never a long stall.

import type { Actor } from '../../protocol/permissions.ts'
import type { FileVersion, ListPage } from '../../protocol/types.ts'
import type { MetadataStore } from '../../metadata/store.ts'
import type { NamespaceAccess } from './access.ts'

export interface ChildListing {
  store: MetadataStore
  access: NamespaceAccess
  /** Names one call looks at, at most, entries and the names below prefixes counted together. */
  scan: number
}

export async function listChildren(
  deps: ChildListing,
  actor: Actor,
  prefix: string,
  limit: number,
  after?: string,
): Promise<ListPage> {
  const files: FileVersion[] = []
  const prefixes: string[] = []
  const budget = { left: deps.scan }
  let cursor = after
  while (budget.left > 0) {
    const want = Math.min(budget.left, limit - files.length - prefixes.length, 1000)
    const page = await deps.store.listChildren(prefix, want, cursor)
    budget.left -= page.length
    for (const entry of page) {
      cursor = entry.kind === 'file' ? entry.file.name : entry.prefix
      if (entry.kind === 'file') {
        if (deps.access.readable(actor, [entry.file]).length === 1) files.push(entry.file)
      } else if (entry.marked || (await readableBelow(deps, actor, entry.prefix, budget))) {
        prefixes.push(entry.prefix)
      }
      // Maybe the last entry there is: the caller's next call is then empty.
      if (files.length + prefixes.length === limit) return { files, prefixes, next: cursor }
    }
    if (page.length < want) return { files, prefixes }
  }
  return { files, prefixes, ...(cursor === undefined ? {} : { next: cursor }) }
}

/**
 * Whether `actor` may read some name below `prefix`, looking at what is left of the budget at most
 * (short pages first: usually the first name answers). Past the budget it says no, and the prefix
 * is left out of this page: a bound on the work, not a promise of completeness for such a user.
 */
async function readableBelow(
  deps: ChildListing,
  actor: Actor,
  prefix: string,
  budget: { left: number },
): Promise<boolean> {
  let after: string | undefined
  for (let size = 8; budget.left > 0; size = Math.min(size * 8, 1000)) {
    const want = Math.min(size, budget.left)
    const page = await deps.store.listFiles(prefix, want, after)
    budget.left -= page.length
    if (deps.access.readable(actor, page).length > 0) return true
    if (page.length < want) return false
    after = page.at(-1)?.name
  }
  return false
}
