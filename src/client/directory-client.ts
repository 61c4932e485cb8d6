// The typed client of the directory's API, used by file servers and proxies (mutual TLS). Calls a
// proxy makes for a user go through `forUser(token, address)`, which sends the user's session with
// each, so the directory checks who acts on every call, and the address they connected from (for
// its audit log). Given several directories (one cluster, one shared database), every call, the
// users' too, goes to the one that answered last and fails over to the others (failover.ts).

import type { NodeAgent } from './agent.ts'
import { CLIENT_HEADER } from '../protocol/client-address.ts'
import type {
  AuditEntry,
  AuditQuery,
  DirectoryStatus,
  CallbackGrant,
  CommitRequest,
  CommittedVersion,
  FileVersion,
  InventoryAnswer,
  InventoryChanges,
  InventoryPage,
  InventoryPageAnswer,
  InventoryResync,
  JobState,
  Lease,
  GroupView,
  HeldLeaseView,
  ListPage,
  Located,
  CopyRequest,
  DeadProps,
  MoveRequest,
  PropsChange,
  Placement,
  PlacementBatch,
  PrefixRuleView,
  AccountView,
  RepairOutcome,
  RepairStatus,
  ServerView,
  Session,
  CreatedToken,
  NewTokenRequest,
  NodeRemoval,
  NodeView,
  TokenView,
  VersionBlocks,
} from '../protocol/types.ts'
import type { ListQuery } from '../protocol/schemas.ts'
import { DirectoryFailover, type FailoverOptions, type Resend } from './failover.ts'
import type { Fetch } from './http.ts'
import { definedOnly } from './query-params.ts'
import {
  kyJsonClient,
  agentJsonClient,
  type JsonCallOptions,
  type JsonClient,
  type JsonMethod,
} from './json-calls.ts'
import { JSON_TIMEOUT_MS } from './timeouts.ts'
import type { RepairTask } from '../roles/directory/repairer.ts'

export type { DirectoryStatus }

type Method = 'get' | 'post' | 'delete'

/**
 * One ky instance a directory, behind one failover. Which calls may be sent again after a connection
 * that broke once the request was out (see Resend) is decided at each call below; 'idempotent' is
 * the default, and is right for:
 * - reads, and calls that set a state (heartbeat, inventory, modes, group members, drain);
 * - commits: a compare-and-set on the expected version, so one that landed is refused the second
 *   time (DFS_CONFLICT) and never applied twice; the proxy, which can look at the name as its user,
 *   tells a write of its own that landed from one that lost (ProxyService.upload);
 * - leases, keyed by their token and secret: a renewal or release sent twice does what one does (a
 *   release that had landed answers `released: false`, and the lease is gone either way); an
 *   acquisition whose answer was lost leaves a lease nobody knows of, which the second one waits
 *   behind until its TTL ends (at most 10 minutes), so two never hold it;
 * - a login or a repair pass sent twice makes a second session, or a second pass: harmless.
 * Calls that create or remove something (users, tokens, nodes, a name, a restore) are 'once'.
 */
class Calls {
  readonly failover: DirectoryFailover
  private readonly clients: JsonClient[]

  constructor(failover: DirectoryFailover, transport: NodeAgent | Fetch) {
    this.failover = failover
    this.clients = failover.urls.map((url) =>
      typeof transport === 'function'
        ? lazyKyClient(url, transport)
        : agentJsonClient(url, transport, JSON_TIMEOUT_MS),
    )
  }

  send<T>(
    method: Method,
    path: string,
    options: JsonCallOptions = {},
    resend: Resend = 'idempotent',
  ): Promise<T> {
    return this.failover.call((index) => this.clients[index]!.call<T>(method, path, options), {
      resend,
      ...(options.signal ? { signal: options.signal } : {}),
    })
  }
}

/** ky's calls over `fetch` (the CLI's, and route tests'), loading ky only when the first one is made. */
function lazyKyClient(url: string, fetch: Fetch): JsonClient {
  let client: Promise<JsonClient> | undefined
  return {
    async call<T>(method: JsonMethod, path: string, options: JsonCallOptions): Promise<T> {
      client ??= import('./http.ts').then(({ jsonClient }) => kyJsonClient(jsonClient(url, fetch)))
      return (await client).call<T>(method, path, options)
    },
  }
}

export class DirectoryClient {
  private readonly calls: Calls

  /**
   * `urls`: the directories of the cluster, tried in this order (one, or several sharing a database).
   * `transport`: the node's mutual-TLS agent, or (in route tests) a fetch of its own.
   */
  constructor(urls: string | readonly string[], transport: NodeAgent | Fetch, options: FailoverOptions = {}) {
    const failover = new DirectoryFailover(typeof urls === 'string' ? [urls] : urls, options)
    this.calls = new Calls(failover, transport)
  }

  /** The directory in use: the one that answered last. */
  get url(): string {
    return this.calls.failover.current
  }

  /** Every directory given, in order. */
  get urls(): readonly string[] {
    return this.calls.failover.urls
  }

  /** Which directory is in use, shared with whatever else talks to the same directories (the change feed). */
  get failover(): DirectoryFailover {
    return this.calls.failover
  }

  /** The calls a proxy makes for one user, each carrying their session token and address. */
  forUser(session: string, client?: string): UserDirectoryClient {
    return new UserDirectoryClient(this.calls, session, client)
  }

  private post<T>(path: string, json: unknown): Promise<T> {
    return this.calls.send('post', path, { json })
  }

  private get<T>(path: string, searchParams: Record<string, string | number> = {}): Promise<T> {
    return this.calls.send('get', path, { searchParams })
  }
  /** Our address and free space, and how our background jobs fare (for `dfs status`). */
  heartbeat(
    id: number,
    url: string,
    freeBytes: number,
    jobs?: Record<string, JobState>,
  ): Promise<{ ok: true; revoked?: string[] }> {
    return this.post('v1/servers/heartbeat', { id, url, freeBytes, jobs })
  }

  /** Servers to copy a finished blob to in place of replicas that failed mid-write. */
  replacements(size: number, count: number, avoid: number[]): Promise<ServerView[]> {
    return this.post('v1/placements/replacements', { size, count, avoid })
  }

  /** `count` placements of new files of up to `size` bytes, for writes to come. */
  placements(size: number, count: number): Promise<PlacementBatch> {
    return this.post('v1/placements/batch', { size, count })
  }

  /** Tells the directory we could not connect to file server `id`. */
  unreachable(id: number, reason: string): Promise<{ ok: true }> {
    return this.post(`v1/servers/${id}/unreachable`, { reason: reason.slice(0, 500) })
  }

  /** The directory's clock, which stamps every version. */
  clock(): Promise<{ now: number }> {
    return this.get('v1/clock')
  }

  /**
   * Reports every blob this server holds in one request (as a file server from before pages did);
   * the answer names those no kept version needs.
   */
  inventory(id: number, blobs: string[], asOf?: number): Promise<InventoryAnswer> {
    return this.calls.send('post', `v1/servers/${id}/inventory`, { json: { blobs, asOf }, timeout: 120_000 })
  }

  /**
   * Reports one page of a full inventory: the blobs this server holds in a hash range. Sent twice,
   * a page is compared twice (the same answer, nothing done twice that matters), and the directory
   * gives that inventory no generation: the next one is full again.
   */
  inventoryPage(id: number, page: InventoryPage): Promise<InventoryPageAnswer> {
    return this.calls.send('post', `v1/servers/${id}/inventory/pages`, { json: page, timeout: 120_000 })
  }

  /** Reports what changed since the inventory the directory acknowledged, or hears it wants a full one. */
  inventoryChanges(id: number, changes: InventoryChanges): Promise<InventoryAnswer | InventoryResync> {
    return this.calls.send('post', `v1/servers/${id}/inventory/changes`, { json: changes, timeout: 120_000 })
  }

  /** A proxy has applied the feed's changes up to `seq` under `epoch`: its callback promise is renewed. */
  ackChanges(seq: number, epoch: number): Promise<CallbackGrant> {
    return this.post('v1/callbacks', { seq, epoch })
  }

  /** Tells the directory a holder sent bytes that do not match their hash. */
  report(server: number, sha256: string, reason: string): Promise<{ ok: true }> {
    return this.post('v1/reports', { server, sha256, reason })
  }

  /** A primary's commit of a write it stored, for `writer`. */
  commit(request: CommitRequest): Promise<CommittedVersion> {
    return this.post('v1/commits', request)
  }

  servers(): Promise<ServerView[]> {
    return this.get('v1/servers')
  }

  login(user: string, password: string, client?: string): Promise<Session> {
    return this.post('v1/login', { user, password, ...(client ? { client } : {}) })
  }

  checkSession(token: string): Promise<SessionCheck> {
    return this.post('v1/sessions/check', { token })
  }
}

/** Who a session is, as the directory answers a proxy's check. */
export interface SessionCheck {
  user: string
  admin: boolean
  groups: string[]
  expires: number
}

/** The directory's API on behalf of one user (the session header on every call). */
export class UserDirectoryClient {
  private readonly calls: Calls
  private readonly headers: Record<string, string>

  constructor(calls: Calls, session: string, client?: string) {
    this.calls = calls
    this.headers = { 'dfs-session': session, ...(client ? { [CLIENT_HEADER]: client } : {}) }
  }

  private post<T>(
    path: string,
    json?: unknown,
    options: { timeout?: number; signal?: AbortSignal; resend?: Resend } = {},
  ): Promise<T> {
    const { resend, ...rest } = options
    return this.calls.send('post', path, { json, headers: this.headers, ...rest }, resend)
  }

  private get<T>(path: string, searchParams: Record<string, string | number> = {}): Promise<T> {
    return this.calls.send('get', path, { searchParams, headers: this.headers })
  }

  place(
    name: string,
    size: number,
    options: { lease?: string; create?: boolean; avoid?: number[] },
  ): Promise<Placement> {
    return this.post('v1/placements', { name, size, ...options })
  }

  /** Waits in line for the lease on `name` (a long poll of up to `waitMs`). */
  acquire(name: string, ttlMs: number, waitMs: number, signal?: AbortSignal): Promise<HeldLeaseView> {
    return this.post('v1/locks', { name, ttlMs, waitMs }, { timeout: waitMs + 30_000, signal })
  }

  renew(name: string, lease: string, ttlMs: number): Promise<Lease> {
    return this.post('v1/locks/renew', { name, lease, ttlMs })
  }

  release(name: string, lease: string): Promise<{ released: boolean }> {
    return this.post('v1/locks/release', { name, lease })
  }

  /** Where `name` lives; with `blocks`, its current version's block list, if it has one. */
  locate(name: string, options: { blocks?: boolean } = {}): Promise<Located> {
    return this.get('v1/files', { name, ...(options.blocks ? { blocks: 'true' } : {}) })
  }

  /** The block list of the newest kept version of `name` whose bytes have this sha256. */
  blocks(name: string, sha256: string): Promise<VersionBlocks> {
    return this.get('v1/blocks', { name, sha256 })
  }

  list(page: ListQuery): Promise<ListPage> {
    return this.get('v1/list', { ...page })
  }

  remove(name: string): Promise<FileVersion> {
    // Sent twice, a removal that landed would be refused as DFS_NOT_FOUND: once only.
    return this.calls.send('delete', 'v1/files', { searchParams: { name }, headers: this.headers }, 'once')
  }

  /** Renames `from` to `to` in one transaction (WebDAV MOVE); no bytes move. */
  move(request: MoveRequest): Promise<{ from: FileVersion; to: FileVersion }> {
    // Sent twice, a move that landed would be refused as DFS_NOT_FOUND: once only.
    return this.post('v1/move', request, { resend: 'once' })
  }

  /** Copies `from` to `to` (WebDAV COPY): a new version of `to` naming the same blob. */
  copy(request: CopyRequest): Promise<{ to: FileVersion }> {
    return this.post('v1/copy', request, { resend: 'once' })
  }

  /** Makes an empty folder (a prefix ending in '/') that lasts until removed. */
  makeFolder(prefix: string): Promise<{ prefix: string; created: boolean }> {
    return this.post('v1/folders', { prefix }, { resend: 'once' })
  }

  removeFolder(prefix: string): Promise<{ removed: boolean }> {
    return this.calls.send(
      'delete',
      'v1/folders',
      { searchParams: { prefix }, headers: this.headers },
      'once',
    )
  }

  folderExists(prefix: string): Promise<{ exists: boolean }> {
    return this.get('v1/folders', { prefix })
  }

  /** The dead properties of a name, or of a folder (a prefix ending in '/'). */
  props(name: string): Promise<DeadProps> {
    return this.get('v1/props', { name })
  }

  /** Removes then sets dead properties, all or nothing (setting the same again does the same). */
  setProps(change: PropsChange): Promise<DeadProps> {
    return this.post('v1/props', change)
  }

  history(name: string): Promise<FileVersion[]> {
    return this.get('v1/versions', { name })
  }

  restore(name: string, version: number): Promise<FileVersion> {
    return this.post('v1/restore', { name, version }, { resend: 'once' })
  }

  status(): Promise<DirectoryStatus> {
    return this.get('v1/status')
  }

  repairPlan(): Promise<RepairTask[]> {
    return this.get('v1/repair/plan')
  }

  repairRun(): Promise<RepairOutcome & { status: RepairStatus }> {
    return this.post('v1/repair/run', undefined, { timeout: 3_600_000 })
  }

  /** chmod/chown of one name, or of a prefix's rule (a name ending in '/'). */
  setPerms(change: { name: string; mode?: string; owner?: string; group?: string }): Promise<unknown> {
    return this.post('v1/perms', change)
  }

  prefixRules(): Promise<PrefixRuleView[]> {
    return this.get('v1/perms/rules')
  }

  logout(): Promise<{ loggedOut: boolean }> {
    return this.post('v1/logout')
  }

  changePassword(change: { user?: string; current?: string; password: string }): Promise<{
    user: string
    sessionsEnded: number
    session?: Session
  }> {
    return this.post('v1/passwd', change, { resend: 'once' })
  }

  listUsers(): Promise<AccountView[]> {
    return this.get('v1/users')
  }

  addUser(user: { user: string; password: string; admin?: boolean }): Promise<AccountView> {
    return this.post('v1/users', user, { resend: 'once' })
  }

  removeUser(user: string): Promise<{ removed: string }> {
    return this.post('v1/users/rm', { user }, { resend: 'once' })
  }

  listGroups(): Promise<GroupView[]> {
    return this.get('v1/groups')
  }

  addToGroup(group: string, users: string[]): Promise<GroupView> {
    return this.post('v1/groups', { group, users })
  }

  removeFromGroup(group: string, users: string[]): Promise<GroupView | { removed: string }> {
    return this.post('v1/groups/rm', { group, users })
  }

  createToken(token: NewTokenRequest): Promise<CreatedToken> {
    return this.post('v1/tokens', token, { resend: 'once' })
  }

  listTokens(): Promise<TokenView[]> {
    return this.get('v1/tokens')
  }

  revokeToken(id: string): Promise<{ revoked: string }> {
    return this.post('v1/tokens/revoke', { id }, { resend: 'once' })
  }

  listNodes(): Promise<NodeView[]> {
    return this.get('v1/nodes')
  }

  drainNode(id: number): Promise<{ draining: number }> {
    return this.post('v1/nodes/drain', { id })
  }

  removeNode(node: NodeRemoval): Promise<{ revoked: number; copies: number }> {
    return this.post('v1/nodes/rm', node, { resend: 'once' })
  }

  audit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.get('v1/audit', definedOnly(query))
  }
}

/** Query parameters without the ones left out. */
