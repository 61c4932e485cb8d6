// What the directory keeps, behind one interface: servers, the namespace with its versions, users and
// sessions. Every mutation is one transaction; an acknowledged call survives kill -9.

import type { CommitRequest, FileVersion, ServerInfo } from '../protocol/types.ts'

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

export interface MetadataStore {
  upsertServer(server: ServerInfo): Promise<void>
  listServers(): Promise<ServerInfo[]>

  getFile(name: string): Promise<FileVersion | undefined>
  listFiles(prefix: string, limit: number): Promise<FileVersion[]>
  /**
   * Compare-and-set: makes a new current version of `name` if its current version is still
   * `expectedVersion` (0: the name must not exist). Throws DFS_CONFLICT otherwise.
   */
  commit(request: CommitRequest, now: number): Promise<FileVersion>
  /** Removes the current name; its versions stay in history. Throws DFS_NOT_FOUND if absent. */
  removeFile(name: string): Promise<FileVersion>
  countFiles(): Promise<{ files: number; bytes: number }>

  getUser(name: string): Promise<UserRecord | undefined>
  /** Adds a user; false if the name is already taken. */
  createUser(user: UserRecord): Promise<boolean>
  putSession(session: SessionRecord): Promise<void>
  getSession(tokenHash: string): Promise<SessionRecord | undefined>
  deleteExpiredSessions(now: number): Promise<void>

  close(): Promise<void>
}
