// What the directory keeps, behind one interface: servers, the namespace with its versions, users and
// sessions. Every mutation is one transaction; an acknowledged call survives kill -9.

import type {
  CommitRequest,
  FileVersion,
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
}

export interface SessionRecord {
  /** sha256 of the bearer token: the token itself is never stored. */
  tokenHash: string
  user: string
  expires: number
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

export interface MetadataStore {
  /** Records a heartbeat (a draining mark stays as it is). */
  upsertServer(server: ServerInfo): Promise<void>
  listServers(): Promise<ServerInfo[]>
  /** Marks a file server as draining (its copies are made elsewhere; nothing new is placed on it). */
  setDraining(id: number, draining: boolean): Promise<boolean>
  /** Forgets a file server; false if it was not known. */
  removeServer(id: number): Promise<boolean>

  getFile(name: string): Promise<FileVersion | undefined>
  listFiles(prefix: string, limit: number): Promise<FileVersion[]>
  /**
   * Compare-and-set: makes a new current version of `name` if its current version is still
   * `expectedVersion` (0: the name must not exist), and if the write's fencing token is the newest
   * granted for the name (a write without a token: if nobody holds the name's lease). Throws
   * DFS_CONFLICT or DFS_LOCKED otherwise.
   */
  commit(request: CommitRequest, now: number): Promise<FileVersion>
  /** Removes the current name; its versions stay in history. DFS_NOT_FOUND if absent, DFS_LOCKED if leased. */
  removeFile(name: string, now: number): Promise<FileVersion>
  countFiles(): Promise<{ files: number; bytes: number }>

  /** Every version kept (current and history), for repair's scan. */
  listAllVersions(): Promise<FileVersion[]>
  /** The versions of one name kept in history, newest first (also after the name was removed). */
  listVersions(name: string): Promise<FileVersion[]>
  /** Drops all but the newest `keep` versions of a name. */
  pruneVersions(name: string, keep: number): Promise<void>
  /** Replaces the servers holding one version (repair, lost copies); the primary follows. */
  setHolders(name: string, version: number, holders: number[]): Promise<void>
  /** Blobs of `server` (among `candidates`) that no kept version on that server names. */
  unreferenced(server: number, candidates: string[]): Promise<string[]>

  /** The newest lease granted on `name`, held or not (released leases have `expires` 0). */
  getLease(name: string): Promise<Lease | undefined>
  /** Grants a lease with a new fencing token, if nobody holds one at `now`; else DFS_LOCKED. */
  grantLease(name: string, owner: LeaseOwner, now: number, ttlMs: number): Promise<Lease>
  /** Extends a held lease; DFS_CONFLICT if `token` is no longer the holder's. */
  renewLease(name: string, token: number, now: number, ttlMs: number): Promise<Lease>
  /** Ends a lease; false if `token` was not the newest (nothing to release). */
  releaseLease(name: string, token: number): Promise<boolean>

  getUser(name: string): Promise<UserRecord | undefined>
  /** The name of the user registered first, if any. */
  firstUser(): Promise<string | undefined>
  /** Adds a user; false if the name is already taken. */
  createUser(user: UserRecord): Promise<boolean>
  putSession(session: SessionRecord): Promise<void>
  getSession(tokenHash: string): Promise<SessionRecord | undefined>
  deleteExpiredSessions(now: number): Promise<void>

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

  close(): Promise<void>
}
