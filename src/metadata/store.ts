// What the directory keeps, behind one interface: servers, the namespace with its versions, users and
// sessions. Every mutation is one transaction; an acknowledged call survives kill -9.

import type { Perms } from '../protocol/permissions.ts'
import type {
  BadCopyReport,
  ChangeEvent,
  CommitRequest,
  FileVersion,
  HashRange,
  Lease,
  LeaseOwner,
  ServerInfo,
  TokenView,
} from '../protocol/types.ts'

export interface UserRecord {
  name: string
  /** scrypt parameters, salt and hash, as one self-describing string. */
  passwordHash: string
  created: number
  admin: boolean
}

export interface SessionRecord {
  /** sha256 of the bearer token: the token itself is never stored. */
  tokenHash: string
  user: string
  created: number
  /** When it was last used (kept to within a minute): the idle timeout counts from here. */
  lastUsed: number
  /** The absolute end, whatever the use. */
  expires: number
}

/** A lease as a writer presents it: the fencing number and the hash of its secret. */
export interface LeaseKey {
  token: number
  secretHash: string
}

/** A lease as the directory keeps it: the secret only as a hash ('' for leases made before secrets). */
export interface StoredLease extends Lease {
  secretHash: string
}

/** A new version as the store records it. */
export interface NewVersion extends Omit<CommitRequest, 'lease' | 'client'> {
  /** The write lease it was made under, if any; its holder must be `writer`. */
  lease?: LeaseKey
  /** Owner, group and mode for a name that does not exist yet (an existing name keeps its own). */
  perms: Perms
}

/**
 * A rename or copy as the store makes it: a new version of `to` with the bytes of `from`'s current
 * version, and (a rename) `from` removed, in one transaction.
 */
export interface RelinkRequest {
  from: string
  to: string
  /** Whether `to` may exist already; if not, DFS_EXISTS. */
  overwrite: boolean
  /** The acting user: the new version's writer, and who must hold a lease given here. */
  writer: string
  /** Keys of the leases on `from` (renames only) and `to`, if the writer holds them. */
  fromLease?: LeaseKey
  toLease?: LeaseKey
  /**
   * Owner, group and mode for a `to` that has none yet (a copy), or for a renamed source that has
   * none of its own (a name from before permissions).
   */
  perms: Perms
}

/** An entry of a delimited listing: a name directly under the prefix, or a prefix one level down. */
export type ChildEntry =
  | { kind: 'file'; file: FileVersion }
  /** `marked`: a folder marker is at or below it (it shows to everyone, names below it or not). */
  | { kind: 'prefix'; prefix: string; marked: boolean }

/** Default owner, group and mode for new names below a prefix (`dfs chmod -R`). */
export interface PrefixRule extends Perms {
  prefix: string
}

export interface GroupRecord {
  name: string
  members: string[]
}

/** A join token as the directory keeps it: the secret only as a hash. */
export interface JoinTokenRecord extends TokenView {
  secretHash: string
}

/** A certificate the directory signed for a node. */
export interface NodeCertRecord {
  serial: string
  role: string
  nodeId: number
  issued: number
  expires: number
  revoked: boolean
}

/** A change to the namespace as the feed keeps it, numbered in the order it was appended. */
export type StoredChange = ChangeEvent & { seq: number }

/**
 * What a store tells the directories that share it, as hints to look again: changes were appended
 * (read them with changesSince), a lease was released (its waiters may take it), certificates were
 * revoked (reload them), or the store lost notices for a while (look at everything again).
 */
export type StoreNotice =
  { kind: 'changes' } | { kind: 'lease'; name: string } | { kind: 'revoked' } | { kind: 'missed' }

export interface MetadataStore {
  /** Several directories may share it (PostgreSQL); an embedded store has one. */
  readonly shared: boolean
  /** Records a heartbeat (a draining mark stays as it is). */
  upsertServer(server: ServerInfo): Promise<void>
  listServers(): Promise<ServerInfo[]>
  /** Marks a file server as draining (its copies are made elsewhere; nothing new is placed on it). */
  setDraining(id: number, draining: boolean): Promise<boolean>
  /** Forgets a file server; false if it was not known. */
  removeServer(id: number): Promise<boolean>

  /** The current version of a name, with its owner, group and mode. */
  getFile(name: string): Promise<FileVersion | undefined>
  /** Current names under `prefix` in name order, after `after` if given, with owners and modes. */
  listFiles(prefix: string, limit: number, after?: string): Promise<FileVersion[]>
  /**
   * Compare-and-set: makes a new current version of `name` if its current version is still
   * `expectedVersion` (0: the name must not exist), and if the write's fencing token is the newest
   * granted for the name, with its secret, held by the writer (a write without a lease: if nobody
   * holds the name's lease). Throws DFS_CONFLICT or DFS_LOCKED otherwise.
   */
  commit(request: NewVersion, now: number): Promise<FileVersion>
  /**
   * Removes the current name; its versions stay in history. DFS_NOT_FOUND if absent, DFS_LOCKED if leased.
   * Like commit, it appends its change ('rm', 'put') to the feed in the same transaction. Its dead
   * properties go with it (a restore does not bring them back).
   */
  removeFile(name: string, now: number): Promise<FileVersion>
  countFiles(): Promise<{ files: number; bytes: number }>
  /**
   * Renames `from` to `to` (see RelinkRequest): `to` takes `from`'s owner, group, mode and dead
   * properties; `from` is removed, its history kept. Both changes ('put' of `to`, then 'rm' of
   * `from`) are appended to the feed. DFS_NOT_FOUND, DFS_EXISTS, DFS_LOCKED, DFS_CONFLICT as commit.
   */
  moveFile(request: RelinkRequest, now: number): Promise<{ from: FileVersion; to: FileVersion }>
  /**
   * Copies `from` to `to`: the new version of `to` names the same blob (no bytes move); a new `to`
   * gets `perms`, an existing one keeps its own; dead properties are copied over `to`'s.
   */
  copyFile(request: Omit<RelinkRequest, 'fromLease'>, now: number): Promise<{ to: FileVersion }>

  /**
   * The current names directly under `prefix` and the prefixes one level down (each ending in '/'),
   * folder markers counted as names, in name order after `after`, at most `limit`. A prefix one
   * level down costs an index seek past it, however many names it holds.
   */
  listChildren(prefix: string, limit: number, after?: string): Promise<ChildEntry[]>
  /** Makes an empty folder's marker (a prefix ending in '/'); false if it was there already. */
  makeFolder(prefix: string): Promise<boolean>
  /** Removes a folder's marker, and its dead properties; false if there was none. */
  removeFolder(prefix: string): Promise<boolean>
  folderExists(prefix: string): Promise<boolean>

  /** The dead properties of a name or folder prefix (none: an empty record). */
  getProps(name: string): Promise<Record<string, string>>
  /**
   * Removes then sets dead properties of a name, or of a prefix ending in '/', all or nothing, within
   * the bounds of protocol/dead-props.ts: its properties after. DFS_NOT_FOUND unless the name is a
   * current file, or the prefix a folder marker or one with names below it.
   */
  changeProps(name: string, set: Record<string, string>, remove: string[]): Promise<Record<string, string>>

  /** The versions of one name kept in history, newest first (also after the name was removed). */
  listVersions(name: string): Promise<FileVersion[]>
  /**
   * The block list (protocol/blocks.ts) of one version, as its commit gave it; undefined for a
   * version without one (a file of one block, or written by a file server from before lists) or not
   * kept. Read alone: no other call that returns versions carries it.
   */
  blockList(name: string, version: number): Promise<string | undefined>
  /** Drops all but the newest `keep` versions of a name. */
  pruneVersions(name: string, keep: number): Promise<void>
  /** Replaces the servers holding one version (repair, lost copies); the primary follows. */
  setHolders(name: string, version: number, holders: number[]): Promise<void>
  /** Kept versions `server` holds, in (name, version) order after `after`: a page of `limit`. */
  versionsHeldBy(
    server: number,
    after: { name: string; version: number } | undefined,
    limit: number,
  ): Promise<FileVersion[]>
  /**
   * Repair's candidates, a page of `limit` in (name, version) order after `after`: the kept versions
   * with fewer than `replicas` holders, and those with a holder among `suspect` (servers whose
   * copies may not count: dead, draining, or forgotten). Each comes once, with all its holders.
   */
  underReplicated(
    replicas: number,
    suspect: number[],
    after: { name: string; version: number } | undefined,
    limit: number,
  ): Promise<FileVersion[]>
  /** Every server that holds a copy of some kept version, in id order. */
  holderServers(): Promise<number[]>
  /** How many kept versions each server holds. */
  heldCounts(): Promise<Map<number, number>>
  /** Kept versions of which `server` holds the only copy: how many, and one of them. */
  soleCopies(server: number): Promise<{ count: number; example?: string }>
  /** Kept versions whose blob `sha256` counts `server` as a holder. */
  versionsWithBlob(server: number, sha256: string): Promise<FileVersion[]>
  /**
   * The blobs in `range` that some kept version held by `server` names, each once, in hash order: at
   * most `limit` (the next page starts after the last one). Read in order from the holders index by
   * blob, so a full inventory's page is compared with a range of it, not looked up blob by blob.
   */
  blobsHeldIn(server: number, range: HashRange, limit: number): Promise<string[]>
  /** Blobs of `server` (among `candidates`) that no kept version on that server names. */
  unreferenced(server: number, candidates: string[]): Promise<string[]>

  /** Owner, group and mode of a name, current or removed with history kept. */
  getPerms(name: string): Promise<Perms | undefined>
  setPerms(name: string, perms: Perms): Promise<void>
  /** Gives every name without an owner to its last writer (stores made before permissions). */
  claimUnowned(group: string, mode: number): Promise<number>
  /** The longest prefix rule covering `name`, if any. */
  prefixRule(name: string): Promise<PrefixRule | undefined>
  setPrefixRule(rule: PrefixRule): Promise<void>
  listPrefixRules(): Promise<PrefixRule[]>

  /**
   * The newest lease granted on `name`, held or not (released leases have `expires` 0), with the
   * hash of its secret.
   */
  getLease(name: string): Promise<StoredLease | undefined>
  /**
   * Grants a lease with a new fencing token and the given secret (as its hash), if nobody holds one
   * at `now`; else DFS_LOCKED.
   */
  grantLease(name: string, owner: LeaseOwner, secretHash: string, now: number, ttlMs: number): Promise<Lease>
  /** Extends a held lease; DFS_CONFLICT unless `key` is the newest lease and `owner` holds it. */
  renewLease(name: string, key: LeaseKey, owner: LeaseOwner, now: number, ttlMs: number): Promise<Lease>
  /** Ends a lease; false unless `key` was the newest and `owner` held it (nothing to release). */
  releaseLease(name: string, key: LeaseKey, owner: LeaseOwner): Promise<boolean>

  getUser(name: string): Promise<UserRecord | undefined>
  listUsers(): Promise<UserRecord[]>
  /** Whether any user exists (the first to register becomes admin). */
  hasUsers(): Promise<boolean>
  /** Adds a user; false if the name is already taken. */
  createUser(user: UserRecord): Promise<boolean>
  /** Replaces a password hash; false if there is no such user. */
  setPassword(name: string, passwordHash: string): Promise<boolean>
  setAdmin(name: string, admin: boolean): Promise<boolean>
  /** Removes a user with their sessions and group memberships; false if there was none. */
  removeUser(name: string): Promise<boolean>

  /** Groups `user` is a member of (not `users`, which everyone is). */
  groupsOf(user: string): Promise<string[]>
  listGroups(): Promise<GroupRecord[]>
  /** Adds members, making the group if needed. */
  addToGroup(group: string, users: string[]): Promise<void>
  removeFromGroup(group: string, users: string[]): Promise<number>
  removeGroup(group: string): Promise<boolean>

  putSession(session: SessionRecord): Promise<void>
  getSession(tokenHash: string): Promise<SessionRecord | undefined>
  touchSession(tokenHash: string, now: number): Promise<void>
  deleteSession(tokenHash: string): Promise<boolean>
  /** Ends every session of a user (password change, removal); how many. */
  deleteUserSessions(user: string): Promise<number>
  /** Drops sessions past their absolute end or idle since before `idleBefore`. */
  deleteExpiredSessions(now: number, idleBefore: number): Promise<number>

  createJoinToken(token: JoinTokenRecord): Promise<void>
  getJoinToken(id: string): Promise<JoinTokenRecord | undefined>
  listJoinTokens(): Promise<JoinTokenRecord[]>
  /** Takes one use of a token if it is still good at `now`; false if revoked, expired or used up. */
  useJoinToken(id: string, now: number): Promise<boolean>
  revokeJoinToken(id: string): Promise<boolean>

  recordNodeCert(cert: NodeCertRecord): Promise<void>
  listNodeCerts(): Promise<NodeCertRecord[]>
  /** Revokes every certificate of one node; the serials revoked. */
  revokeNodeCerts(role: string, nodeId: number): Promise<string[]>
  /** Serials of revoked certificates that have not expired yet. */
  revokedSerials(now: number): Promise<string[]>
  /** The certificates signed for one node, newest first. */
  nodeCerts(role: string, nodeId: number): Promise<NodeCertRecord[]>

  /**
   * Settles once every transaction committed so far is on disk, for a store that lets others see a
   * transaction before its fsync is done (the embedded one): an answer waits for it before it goes.
   */
  settled?(): Promise<void>
  /** Changes after `seq`, oldest first, at most `limit` (commits and removals append them). */
  changesSince(seq: number, limit: number): Promise<StoredChange[]>
  /** The oldest change still kept and the newest (0 and 0 for an empty feed; first > last then). */
  changeBounds(): Promise<{ first: number; last: number }>
  /** Drops all but the newest `keep` changes; how many went. */
  pruneChanges(keep: number): Promise<number>

  /**
   * Takes or renews the lease row of a background job (repair) for `holder`, if it is free, expired
   * at `now`, or already held by `holder`: whether `holder` leads it until `now + ttlMs`.
   */
  claimLeadership(job: string, holder: string, now: number, ttlMs: number): Promise<boolean>
  /** Gives up a job's lease if `holder` has it (a directory shutting down). */
  resignLeadership(job: string, holder: string): Promise<void>

  /** Records a report of a holder that served bad bytes, keeping the newest `keep`. */
  addReport(report: BadCopyReport, keep: number): Promise<void>
  /** The kept reports, oldest first. */
  listReports(): Promise<BadCopyReport[]>
  /** A background job's state (JSON) as the directory running it last saved it, for every directory. */
  putJobState(job: string, state: string): Promise<void>
  getJobState(job: string): Promise<string | undefined>

  /** Calls `listener` on every notice (see StoreNotice); returns the unsubscribe. */
  subscribe(listener: (notice: StoreNotice) => void): () => void

  close(): Promise<void>
}

/**
 * Whether `key` names the newest lease on a name, not released, and `user` holds it. (A lease past
 * its expiry that nobody else took still counts: fencing keeps its late writes safe.)
 */
export function holdsLease(lease: StoredLease, key: LeaseKey, user: string): boolean {
  return (
    lease.expires !== 0 &&
    lease.token === key.token &&
    lease.secretHash !== '' &&
    lease.secretHash === key.secretHash &&
    lease.user === user
  )
}

/** The feed's record of a commit or removal (a name from before owners shows only to its writer). */
export function changeOf(type: ChangeEvent['type'], file: FileVersion, at: number): Omit<ChangeEvent, 'seq'> {
  return {
    type,
    name: file.name,
    version: file.version,
    sha256: file.sha256,
    size: file.size,
    writer: file.writer,
    at,
    owner: file.owner ?? file.writer,
    group: file.group ?? 'users',
    mode: file.mode ?? 0o600,
  }
}
