// Rows as both SQL stores read them, and the records they make. The two schemas name their columns
// alike; where SQLite keeps a flag as 0/1, PostgreSQL keeps a boolean, and either reads the same.

import type { ChangeEvent, FileVersion } from '../protocol/types.ts'
import type { JoinTokenRecord, NodeCertRecord, PrefixRule, StoredChange, UserRecord } from './store.ts'

/**
 * A version's columns (of `versions v`) as every query but blockList reads them: never its block
 * list, which can be long (some 110 KB for a 10 GiB file) and which listings, history, repair and
 * the change feed do not carry.
 */
export const VERSION_COLUMNS =
  'v.name, v.version, v.sha256, v.size, v.primary_id, v.holders, v.writer, v.mtime'

/** The current version of each name, with its owner, group and mode (if it has them). */
export const CURRENT = `SELECT ${VERSION_COLUMNS}, p.owner AS owner, p.grp AS grp, p.mode AS perm_mode FROM files f
  JOIN versions v ON v.name = f.name AND v.version = f.version LEFT JOIN perms p ON p.name = f.name`

type Flag = number | boolean

export interface VersionRow {
  name: string
  version: number
  sha256: string
  size: number
  primary_id: number
  holders: string
  writer: string
  mtime: number
}

export interface CurrentRow extends VersionRow {
  owner: string | null
  grp: string | null
  perm_mode: number | null
}

export function toVersion(row: VersionRow): FileVersion {
  return {
    name: row.name,
    version: row.version,
    sha256: row.sha256,
    size: row.size,
    primary: row.primary_id,
    holders: JSON.parse(row.holders) as number[],
    writer: row.writer,
    mtime: row.mtime,
  }
}

export function toCurrent(row: CurrentRow): FileVersion {
  const version = toVersion(row)
  if (row.owner === null || row.grp === null || row.perm_mode === null) return version
  return { ...version, owner: row.owner, group: row.grp, mode: row.perm_mode }
}

export interface ChangeRow {
  seq: number
  type: ChangeEvent['type']
  name: string
  version: number
  sha256: string
  size: number
  writer: string
  at: number
  owner: string
  grp: string
  mode: number
}

export function toChange(r: ChangeRow): StoredChange {
  return {
    seq: r.seq,
    type: r.type,
    name: r.name,
    version: r.version,
    sha256: r.sha256,
    size: r.size,
    writer: r.writer,
    at: r.at,
    owner: r.owner,
    group: r.grp,
    mode: r.mode,
  }
}

export interface UserRow {
  name: string
  password_hash: string
  created: number
  admin: Flag
}

export function toUser(row: UserRow): UserRecord {
  return { name: row.name, passwordHash: row.password_hash, created: row.created, admin: Boolean(row.admin) }
}

export interface RuleRow {
  prefix: string
  owner: string
  grp: string
  mode: number
}

export function toRule(row: RuleRow): PrefixRule {
  return { prefix: row.prefix, owner: row.owner, group: row.grp, mode: row.mode }
}

export interface CertRow {
  serial: string
  role: string
  node_id: number
  issued: number
  expires: number
  revoked: Flag
}

export function toCert(r: CertRow): NodeCertRecord {
  return {
    serial: r.serial,
    role: r.role,
    nodeId: r.node_id,
    issued: r.issued,
    expires: r.expires,
    revoked: Boolean(r.revoked),
  }
}

export interface TokenRow {
  id: string
  secret_hash: string
  role: JoinTokenRecord['role']
  created: number
  expires: number
  uses_left: number | null
  revoked: Flag
  created_by: string
}

export function toToken(row: TokenRow): JoinTokenRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    role: row.role,
    created: row.created,
    expires: row.expires,
    usesLeft: row.uses_left,
    revoked: Boolean(row.revoked),
    createdBy: row.created_by,
  }
}
