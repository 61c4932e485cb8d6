// The bounds of a name's dead properties (WebDAV PROPPATCH): keys in Clark notation, values kept
// verbatim. Both metadata stores check a change against them inside the transaction that applies it,
// so a change that would pass a bound is refused whole.

import { DfsError } from './errors.ts'

export const MAX_PROPS = 100
export const MAX_PROP_KEY_BYTES = 1024
export const MAX_PROP_VALUE_BYTES = 16 * 1024
export const MAX_PROPS_BYTES = 256 * 1024

/** `{namespace}localname`; the namespace may be empty, the local name may not. */
const CLARK = /^\{[^{}]*\}[^{}\s]+$/

/** Refuses a key or value that no name may have, whatever it has already. */
export function checkPropChange(set: Record<string, string>, remove: readonly string[]): void {
  for (const key of [...Object.keys(set), ...remove]) checkKey(key)
  for (const [key, value] of Object.entries(set)) {
    if (bytes(value) > MAX_PROP_VALUE_BYTES)
      throw new DfsError(
        'DFS_TOO_LARGE',
        `the value of property ${key} is ${bytes(value)} bytes; at most ${MAX_PROP_VALUE_BYTES}`,
      )
  }
}

/** Refuses a name's properties, as a change would leave them, past the count or total size. */
export function checkPropTotals(name: string, props: Record<string, string>): void {
  const entries = Object.entries(props)
  if (entries.length > MAX_PROPS)
    throw new DfsError(
      'DFS_TOO_LARGE',
      `${name} would have ${entries.length} properties; at most ${MAX_PROPS}`,
    )
  const total = entries.reduce((sum, [key, value]) => sum + bytes(key) + bytes(value), 0)
  if (total > MAX_PROPS_BYTES)
    throw new DfsError(
      'DFS_TOO_LARGE',
      `${name}'s properties would take ${total} bytes; at most ${MAX_PROPS_BYTES}`,
    )
}

/** A name's properties after a change: removals first, then what is set. */
export function applyPropChange(
  props: Record<string, string>,
  set: Record<string, string>,
  remove: readonly string[],
): Record<string, string> {
  const next = new Map(Object.entries(props))
  for (const key of remove) next.delete(key)
  for (const [key, value] of Object.entries(set)) next.set(key, value)
  return Object.fromEntries([...next].toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

function checkKey(key: string): void {
  if (bytes(key) > MAX_PROP_KEY_BYTES)
    throw new DfsError(
      'DFS_BAD_REQUEST',
      `a property key must be at most ${MAX_PROP_KEY_BYTES} bytes (one is ${bytes(key)})`,
    )
  if (!CLARK.test(key))
    throw new DfsError(
      'DFS_BAD_REQUEST',
      `a property key is {namespace}name in Clark notation, not ${JSON.stringify(key.slice(0, 80))}`,
    )
}

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
