// WebDAV's If header (RFC 4918 §10.4): lists of lock tokens and ETags, each list maybe tagged with the
// resource it is about. A request passes if one list that applies to the resource holds; the lock
// tokens it names are the leases it writes under (the directory checks them: fencing).

import { DfsError } from '../../../protocol/errors.ts'
import { LEASE_KEY } from '../../../protocol/lease-key.ts'

/** dfs lock tokens are the lease key, as a URI: `urn:dfs:lock:<token>.<secret>`. */
export const LOCK_TOKEN_PREFIX = 'urn:dfs:lock:'
const MAX_IF_BYTES = 16 * 1024

export interface Condition {
  not: boolean
  /** A state token (a Coded-URL's URI), or an entity tag (with its quotes). */
  token?: string
  etag?: string
}

export interface IfList {
  /** The resource a tagged list is about (its URL as given); absent: the request's own. */
  resource?: string
  conditions: Condition[]
}

export function lockToken(leaseKey: string): string {
  return `${LOCK_TOKEN_PREFIX}${leaseKey}`
}

/** The lease key a lock token stands for, if it is one of ours. */
export function leaseKeyOf(token: string): string | undefined {
  if (!token.startsWith(LOCK_TOKEN_PREFIX)) return undefined
  const key = token.slice(LOCK_TOKEN_PREFIX.length)
  return LEASE_KEY.test(key) ? key : undefined
}

/** Parses an If header; DFS_BAD_REQUEST if it does not follow the grammar. */
export function parseIf(header: string): IfList[] {
  if (header.length > MAX_IF_BYTES) throw bad('the If header is too long')
  const lists: IfList[] = []
  let resource: string | undefined
  let at = 0
  const skip = () => {
    while (at < header.length && /\s/.test(header[at]!)) at++
  }
  const until = (end: string) => {
    const stop = header.indexOf(end, at)
    if (stop < 0) throw bad(`the If header misses a '${end}'`)
    const value = header.slice(at, stop)
    at = stop + 1
    return value
  }
  for (skip(); at < header.length; skip()) {
    if (header[at] === '<') {
      at++
      resource = until('>')
      continue
    }
    if (header[at] !== '(') throw bad(`the If header has '${header[at]}' where a list should start`)
    at++
    const conditions: Condition[] = []
    for (skip(); header[at] !== ')'; skip()) {
      if (at >= header.length) throw bad("the If header misses a ')'")
      let not = false
      if (header.startsWith('Not', at)) {
        not = true
        at += 3
        skip()
      }
      if (header[at] === '<') {
        at++
        conditions.push({ not, token: until('>') })
      } else if (header[at] === '[') {
        at++
        conditions.push({ not, etag: until(']') })
      } else throw bad('the If header has a condition that is neither <token> nor [etag]')
    }
    at++
    if (conditions.length === 0) throw bad('the If header has an empty list')
    lists.push({ ...(resource === undefined ? {} : { resource }), conditions })
  }
  if (lists.length === 0) throw bad('the If header is empty')
  return lists
}

/** What a condition is checked against: the resource's current ETag and lock token, as known. */
export interface ResourceState {
  etag?: string
  /** Whether `token` is the resource's lock; undefined when only the directory can say (it will). */
  holds: (token: string) => boolean | undefined
}

/**
 * Whether the lists that apply to a resource let the request through: one of them must hold. Lists
 * tagged for other resources are left to the caller (COPY and MOVE check the destination's).
 */
export function ifHolds(lists: IfList[], applies: (list: IfList) => boolean, state: ResourceState): boolean {
  const mine = lists.filter(applies)
  if (mine.length === 0) return true
  return mine.some((list) =>
    list.conditions.every((c) => {
      let value: boolean
      if (c.etag !== undefined) value = state.etag !== undefined && c.etag === state.etag
      else value = state.holds(c.token!) ?? leaseKeyOf(c.token!) !== undefined
      return c.not ? !value : value
    }),
  )
}

/** The lease keys of the lock tokens the lists that apply name (not negated). */
export function submittedKeys(lists: IfList[], applies: (list: IfList) => boolean): string[] {
  const keys = new Set<string>()
  for (const list of lists.filter(applies)) {
    for (const c of list.conditions) {
      const key = c.token === undefined || c.not ? undefined : leaseKeyOf(c.token)
      if (key) keys.add(key)
    }
  }
  return [...keys]
}

function bad(message: string): DfsError {
  return new DfsError('DFS_BAD_REQUEST', message)
}
