// Who may read or write a name: an owner, a group and mode bits, as in POSIX and HDFS. Only read (4)
// and write (2) mean anything here; execute bits are accepted (habit types 755) and dropped.
// One pure function decides, so the directory, and the proxy filtering change events, agree.

import { DfsError } from './errors.ts'

/** Every user is in this group; it has no member list. */
export const EVERYONE = 'users'

export interface Perms {
  owner: string
  group: string
  /** POSIX-style bits, rw only: 0o640 is owner rw, group r, others nothing. */
  mode: number
}

/** A user acting through a proxy, as the directory authenticated them. */
export interface Actor {
  user: string
  admin: boolean
  /** Groups the user is a member of, `users` included. */
  groups: string[]
}

export type Access = 'read' | 'write'

const BIT: Record<Access, number> = { read: 4, write: 2 }

/** Whether `actor` may read or write a name with `perms`; admins may do anything. */
export function allowed(actor: Actor, perms: Perms, access: Access): boolean {
  if (actor.admin) return true
  const bit = BIT[access]
  if (actor.user === perms.owner) return ((perms.mode >> 6) & bit) !== 0
  if (actor.groups.includes(perms.group)) return ((perms.mode >> 3) & bit) !== 0
  return (perms.mode & bit) !== 0
}

/** Throws DFS_FORBIDDEN naming the permission missing, unless `actor` may. */
export function check(actor: Actor, perms: Perms, access: Access, what: string): void {
  if (allowed(actor, perms, access)) return
  const whose =
    actor.user === perms.owner
      ? 'its owner'
      : actor.groups.includes(perms.group)
        ? `group ${perms.group}`
        : 'others'
  throw new DfsError(
    'DFS_FORBIDDEN',
    `${actor.user} may not ${access} ${what}: mode ${formatMode(perms.mode)} (${perms.owner}:${perms.group}) gives ${whose} no ${access} permission`,
  )
}

/** `rw-r-----` for 0o640, as ls shows it (the execute place always '-'). */
export function formatMode(mode: number): string {
  let text = ''
  for (const shift of [6, 3, 0]) {
    const bits = (mode >> shift) & 7
    text += `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}-`
  }
  return text
}

/** The octal form, as chmod takes it: `640`. */
export function octalMode(mode: number): string {
  return mode.toString(8).padStart(3, '0')
}

const SYMBOLIC = /^([ugoa]*)([+=-])([rwx]*)$/

/**
 * Parses a chmod mode against the current one: octal (`640`, `0640`) or symbolic clauses
 * (`u+w`, `go-rw`, `a=r`, comma-separated). Execute bits are dropped.
 */
export function parseMode(text: string, current = 0): number {
  const bad = () =>
    new DfsError(
      'DFS_BAD_REQUEST',
      `bad mode ${JSON.stringify(text.slice(0, 40))}: give octal (640) or u+w, go-r, a=r`,
    )
  if (/^0?[0-7]{3}$/.test(text)) return Number.parseInt(text, 8) & 0o666
  if (text.length === 0 || text.length > 64) throw bad()
  let mode = current & 0o666
  for (const clause of text.split(',')) {
    const match = SYMBOLIC.exec(clause)
    if (!match) throw bad()
    const [, who = '', op, what = ''] = match
    const shifts = (who === '' || who.includes('a') ? 'ugo' : who)
      .split('')
      .map((w) => (w === 'u' ? 6 : w === 'g' ? 3 : 0))
    let bits = 0
    if (what.includes('r')) bits |= 4
    if (what.includes('w')) bits |= 2
    for (const shift of shifts) {
      const mask = 6 << shift
      const value = bits << shift
      if (op === '+') mode |= value
      else if (op === '-') mode &= ~value
      else mode = (mode & ~mask) | value
    }
  }
  return mode & 0o666
}
