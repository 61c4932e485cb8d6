// Shapes exchanged between roles and with the CLI. Route schemas live beside the routes that use them.

import type { ErrorCode } from './errors.ts'

export interface ServerInfo {
  id: number
  url: string
  freeBytes: number
  lastHeartbeat: number
  /** Being emptied (dfs node drain): nothing new is placed on it, its copies are made elsewhere. */
  draining?: boolean
}

export interface ServerView extends ServerInfo {
  /** Heard from recently: offered for new files and reads. */
  live: boolean
  /** Silent past the dead timeout: its copies no longer count. */
  dead?: boolean
  /** A node could not connect to it since its last heartbeat: not placed on until the next one. */
  unreachable?: boolean
  /** Its background jobs (inventory, scrub) as of its last heartbeat (saved for every directory). */
  jobs?: Record<string, JobState>
}

/** What a file server tells the directory every few seconds. */
export interface Heartbeat {
  id: number
  url: string
  freeBytes: number
  jobs?: Record<string, JobState>
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
  /** Who owns the name, its group and mode (on current names; see protocol/permissions.ts). */
  owner?: string
  group?: string
  mode?: number
}

/** A version just written, as the directory acknowledges it: `holders` shorter than `wanted` (R)
 * means the cluster was short of servers, and repair adds the missing copies. */
export interface CommittedVersion extends FileVersion {
  wanted: number
  /**
   * The change feed's position the writer's proxy must have applied before it trusts what it knows
   * of names again: the directory did not wait for its acknowledgement (CommitRequest.proxy).
   */
  heard?: number
}

/** A file version with the addresses of its holders, as the directory hands it to a reader or writer. */
export interface Located extends FileVersion {
  /** The version's block list (protocol/blocks.ts), for files of more than one block written since
   * lists were kept; absent for older versions, which are verified whole instead. */
  blocks?: string
  servers: ServerView[]
  lock?: LockState
}

/**
 * The block list of a kept version, found by its bytes (GET /v1/blocks): what a reader that has the
 * sha256 of a download (from the proxy) checks it against. No `blocks` for a file of one block, nor
 * for a version kept without a list; such a download is checked whole, against `sha256`.
 */
export interface VersionBlocks {
  name: string
  sha256: string
  size: number
  blocks?: string
}

/** The directory's answer to a proxy's acknowledgement of changes (roles/directory/callbacks.ts). */
export interface CallbackGrant {
  /** How long the proxy may trust what it knows, from when it sent the acknowledgement (0: not at all). */
  validForMs: number
  /** The current epoch: one the proxy has not seen means it must forget what it trusted, and ack again. */
  epoch: number
}

export interface Placement {
  name: string
  expectedVersion: number
  primary: ServerView
  replicas: ServerView[]
  /** R, the copies every version should have: fewer replicas here means the cluster is short. */
  wanted: number
}

/** Placements for new files, asked for ahead of the writes (a proxy's pool of them). */
export interface PlacementBatch {
  placements: Pick<Placement, 'primary' | 'replicas'>[]
  wanted: number
}

export interface CommitRequest {
  name: string
  expectedVersion: number
  sha256: string
  size: number
  /** The block list (protocol/blocks.ts), for files of more than one block. */
  blocks?: string
  primary: number
  holders: number[]
  writer: string
  /** The write lease this write was made under, if any, as `<fencing token>.<secret>`. */
  lease?: string
  /** The writer's address as their proxy saw it, for the audit log. */
  client?: string
  /**
   * The proxy the write came through, as the primary's certificate check saw it: it learns of the
   * new version from the commit's answer, so the commit does not wait for its acknowledgement.
   */
  proxy?: number
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

/**
 * A lease as its holder gets it: `key` (`<token>.<secret>`) is what renew, release and writes
 * present. The secret is random and the directory keeps only its hash, so a lease can be neither
 * guessed from the growing token nor used by anyone but its holder.
 */
export interface HeldLeaseView extends Lease {
  key: string
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

/**
 * The directory's answer to a file server's inventory, full or of changes. `unreferenced`: of the
 * blobs it looked at, those no kept version on that server names (garbage once past the grace
 * period). `now`: its clock, the next inventory's `asOf`. `generation`: what the next inventory of
 * changes is relative to (absent from a directory that takes only full inventories). `recheck`:
 * blobs the server lacks that a version committed after `asOf` names, so their holder was kept for
 * now; the next inventory says again whether they are missing.
 */
export interface InventoryAnswer {
  unreferenced: string[]
  now: number
  generation?: number
  recheck?: string[]
}

/**
 * Blob hashes after `after` and up to `last`, inclusive; an end left out is open (from the first
 * hash, to the last). Hashes compare byte by byte, as lowercase hex sorts.
 */
export interface HashRange {
  after?: string
  last?: string
}

/**
 * One page of a file server's full inventory: every blob it holds in the hash range (`after`,
 * `last`], in increasing order. The pages of one inventory follow each other: the first has no
 * `after`, each next one's `after` is the `last` of the one before, and the last page has no `last`.
 * `inventory` is the number the first page's answer gave, sent with every later page.
 */
export interface InventoryPage extends HashRange {
  blobs: string[]
  inventory?: number
  asOf?: number
}

/**
 * The answer to a page: as to a full inventory, for the blobs in its range. `inventory` numbers
 * the inventory the page belongs to; `generation` comes only with the last page, and only if the
 * directory followed every page from the first (else the next inventory must be full again).
 */
export interface InventoryPageAnswer extends InventoryAnswer {
  inventory: number
}

/** Most blobs one page may carry, and what a file server sends (a page is a few MB of JSON). */
export const INVENTORY_PAGE_MAX = 100_000
export const INVENTORY_PAGE = 50_000

/**
 * A file server's inventory of changes: what its store gained and lost since the inventory the
 * directory acknowledged as `base`, and the unreferenced blobs it is still keeping for their grace
 * period (`check`: asked about again, since a commit may have named them meanwhile).
 */
export interface InventoryChanges {
  base: number
  added: string[]
  removed: string[]
  check: string[]
  asOf: number
}

/** A directory that cannot apply changes (it restarted, or never saw `base`) asks for a full inventory. */
export interface InventoryResync {
  needFull: true
  now: number
}

/** A holder reported (by a reader or its own scrubber) to hold bytes that do not match their hash. */
export interface BadCopyReport {
  server: number
  sha256: string
  reason: string
  at: number
}

/** A change to the namespace, as the directory streams it to proxies and `dfs watch`. */
export interface ChangeEvent {
  /** Its place in the directory's change feed (the SSE event id): a subscriber resumes after it. */
  seq?: number
  type: 'put' | 'rm'
  name: string
  version: number
  sha256: string
  size: number
  writer: string
  at: number
  /** The name's owner, group and mode, so a proxy passes the event only to users who may read it. */
  owner: string
  group: string
  mode: number
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
  /** The last failed copy, or pass, with its reason. */
  lastError?: JobError
}

/** A copy a repair pass could not make, and why. */
export interface RepairFailure {
  name: string
  version: number
  source: number
  target: number
  error: string
}

/** What one repair pass did: `dfs repair` prints each failure and exits non-zero if there is one. */
export interface RepairOutcome {
  copied: number
  failures: RepairFailure[]
  /**
   * Versions still short of R when a pass asked for by a person (dfs repair) ended: waiting for a
   * source or a target, lost, or beyond the candidates one pass looks at. Absent from background passes.
   */
  left?: number
}

/** Longest reason kept for a failed background step (route schemas bound it too). */
export const JOB_MESSAGE_MAX = 500

export interface JobError {
  at: number
  message: string
}

/** A background job's last good run and last failure: it is failing now if the failure is newer. */
export interface JobState {
  lastOk?: number
  lastError?: JobError
}

/** The proxy's subscription to the directory's changes; while it is down, cached names may be stale. */
export interface ChangeFeedState {
  connected: boolean
  /** The directory it follows, or is trying (logs and `dfs status` may show URLs; errors do not). */
  directory?: string
  lastError?: JobError
}

/** A join token as `dfs token list` shows it: never its secret. */
export interface TokenView {
  id: string
  /** The role a node may join as with it; 'any' for the directory's local token and first token. */
  role: 'fileserver' | 'proxy' | 'any'
  created: number
  /** 0: never expires. */
  expires: number
  /** Joins left; null: unlimited. */
  usesLeft: number | null
  revoked: boolean
  /** Who or what made it ('local', 'first start', a user name). */
  createdBy: string
}

export interface NewTokenRequest {
  role: TokenView['role']
  /** 0: never expires. */
  ttlMs: number
  uses?: number
}

/** A new token: the only time its secret is seen. */
export interface CreatedToken {
  token: string
  view: TokenView
}

/** A node as `dfs node list` shows it: its certificate, and for a file server its state. */
export interface NodeView {
  role: 'fileserver' | 'proxy'
  id: number
  /** The newest certificate's expiry; 0 if it has none (a file server known only by heartbeat). */
  certExpires: number
  revoked: boolean
  server?: ServerView
  /** Kept versions still counting on this server (draining is done at 0). */
  holds?: number
}

/** What `dfs node rm` asks for. */
export interface NodeRemoval {
  role: 'fileserver' | 'proxy'
  id: number
  /** Even if it holds the only copy of some versions (it is gone for good). */
  force?: boolean
}

/** A user as `dfs user list` shows them. */
export interface AccountView {
  user: string
  admin: boolean
  created: number
  groups: string[]
}

/** A group as `dfs group list` shows it; `users` has every user, so no list. */
export interface GroupView {
  group: string
  members: string[] | 'everyone'
}

/** A prefix's default for the names made below it (`dfs chmod -R`). */
export interface PrefixRuleView {
  prefix: string
  owner: string
  group: string
  mode: number
}

/** What the directory's audit log records (one line each, see roles/directory/audit-log.ts). */
export type AuditAction =
  | 'login'
  | 'logout'
  | 'passwd'
  | 'user.add'
  | 'user.rm'
  | 'group.add'
  | 'group.rm'
  | 'write'
  | 'rm'
  | 'restore'
  | 'move'
  | 'copy'
  | 'folder.add'
  | 'folder.rm'
  | 'props'
  | 'chmod'
  | 'chown'
  | 'rule'
  | 'token.create'
  | 'token.revoke'
  | 'node.join'
  | 'node.drain'
  | 'node.rm'

/** An event as the directory records it, before it is stamped with the time. */
export interface AuditEvent {
  action: AuditAction
  /** The acting user (for a write, its writer); absent when a node acts (a join). */
  user?: string
  /** The node the event came through or from: 'proxy 1', 'fileserver 3'. */
  node?: string
  /** The end user's (or joining node's) network address, where known. */
  client?: string
  /** What was acted on: a file name, a prefix, a user, a group, a token id, a node. */
  name?: string
  version?: number
  /** 'ok', or the code of the error that refused it. */
  outcome: 'ok' | ErrorCode
  detail?: string
}

/** One line of the audit log. */
export interface AuditEntry extends AuditEvent {
  /** ISO 8601, and the same instant in ms since the epoch (for filtering). */
  time: string
  ms: number
}

export interface AuditQuery {
  user?: string
  /** ms since the epoch: entries at or after it. */
  since?: number
  /** The newest this many (default 1000). */
  limit?: number
}

/** One page of a listing: `next`, if present, is the cursor (`after`) for the rest. */
export interface ListPage {
  files: FileVersion[]
  /**
   * With a delimiter: the next-level prefixes under the listed one, each ending in '/', paged in
   * name order together with `files`.
   */
  prefixes?: string[]
  next?: string
}

/**
 * A rename (WebDAV MOVE): `to` becomes a new version with the bytes of `from`'s current version,
 * and `from` is removed, in one transaction. Either name's lease key, if someone holds it.
 */
export interface MoveRequest {
  from: string
  to: string
  /** May `to` exist already (default true)? */
  overwrite?: boolean
  lease?: string
  toLease?: string
}

/** A copy (WebDAV COPY): like a move, but `from` stays. */
export interface CopyRequest {
  from: string
  to: string
  overwrite?: boolean
  toLease?: string
}

/** A name's dead properties (WebDAV PROPPATCH): Clark-notation keys, XML fragments kept verbatim. */
export interface DeadProps {
  name: string
  props: Record<string, string>
}

/** A change of dead properties, applied whole or not at all. */
export interface PropsChange {
  name: string
  set?: Record<string, string>
  remove?: string[]
}
