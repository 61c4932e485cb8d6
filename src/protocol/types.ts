// Shapes exchanged between roles and with the CLI. Route schemas live beside the routes that use them.

export interface ServerInfo {
  id: number
  url: string
  freeBytes: number
  lastHeartbeat: number
}

export interface ServerView extends ServerInfo {
  /** Heard from recently: offered for new files and reads. */
  live: boolean
  /** Silent past the dead timeout: its copies no longer count. */
  dead?: boolean
  /** A node could not connect to it since its last heartbeat: not placed on until the next one. */
  unreachable?: boolean
}

export interface FileVersion {
  name: string
  version: number
  sha256: string
  size: number
  primary: number
  holders: number[]
  writer: string
  mtime: number
}

/** A version just written, as the directory acknowledges it: `holders` shorter than `wanted` (R)
 * means the cluster was short of servers, and repair adds the missing copies. */
export interface CommittedVersion extends FileVersion {
  wanted: number
}

/** A file version with the addresses of its holders, as the directory hands it to a reader or writer. */
export interface Located extends FileVersion {
  servers: ServerView[]
  lock?: LockState
}

export interface Placement {
  name: string
  expectedVersion: number
  primary: ServerView
  replicas: ServerView[]
  /** R, the copies every version should have: fewer replicas here means the cluster is short. */
  wanted: number
}

export interface CommitRequest {
  name: string
  expectedVersion: number
  sha256: string
  size: number
  primary: number
  holders: number[]
  writer: string
  /** The fencing token of the write lease this write was made under, if any. */
  token?: number
}

/** Who holds a write lease: a user, through a proxy. */
export interface LeaseOwner {
  user: string
  proxy: number
}

/** A write lease on a name: fencing tokens only ever grow, across all names. */
export interface Lease extends LeaseOwner {
  name: string
  token: number
  since: number
  expires: number
}

/** What `stat` shows of a name's lock. */
export interface LockState extends LeaseOwner {
  since: number
  expires: number
  waiting: number
}

export interface Session {
  user: string
  token: string
  expires: number
}

export const SHA256_HEX = /^[0-9a-f]{64}$/

/** A holder reported (by a reader or its own scrubber) to hold bytes that do not match their hash. */
export interface BadCopyReport {
  server: number
  sha256: string
  reason: string
  at: number
}

/** A change to the namespace, as the directory streams it to proxies and `dfs watch`. */
export interface ChangeEvent {
  type: 'put' | 'rm'
  name: string
  version: number
  sha256: string
  size: number
  writer: string
  at: number
}

/** The directory's view of the cluster, as `dfs status` shows it. */
export interface DirectoryStatus {
  replicas: number
  /** Copies a write needs to be acknowledged (--min-copies). */
  minCopies: number
  servers: ServerView[]
  files: number
  bytes: number
  reports: BadCopyReport[]
  repair: RepairStatus
}

export interface RepairStatus {
  underReplicated: number
  lost: number
  repaired: number
  failed: number
  lastPass: number
}
