// The typed client of the directory's API, used by file servers and proxies (mutual TLS). Calls a
// proxy makes for a user go through `forUser(token, address)`, which sends the user's session with
// each, so the directory checks who acts on every call, and the address they connected from (for
// its audit log).

import type { KyInstance } from 'ky'
import type { Agent } from 'undici'
import { CLIENT_HEADER } from '../protocol/client-address.ts'
import type {
  AuditEntry,
  AuditQuery,
  DirectoryStatus,
  CommitRequest,
  CommittedVersion,
  FileVersion,
  InventoryAnswer,
  InventoryChanges,
  InventoryResync,
  JobState,
  Lease,
  GroupView,
  HeldLeaseView,
  ListPage,
  Located,
  Placement,
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
} from '../protocol/types.ts'
import type { ListQuery } from '../protocol/schemas.ts'
import { call, jsonClient, type Fetch } from './http.ts'
import { dispatcherFetch } from './streams.ts'
import type { RepairTask } from '../roles/directory/repairer.ts'

export type { DirectoryStatus }

/** How failures name the directory: users of a proxy are not shown its internal address (the log is). */
const WHAT = 'directory'

export class DirectoryClient {
  private readonly http: KyInstance
  readonly url: string

  /** `transport`: the node's mutual-TLS agent, or (in route tests) a fetch of its own. */
  constructor(url: string, transport: Agent | Fetch) {
    this.url = url
    this.http = jsonClient(url, typeof transport === 'function' ? transport : dispatcherFetch(transport))
  }

  /** The calls a proxy makes for one user, each carrying their session token and address. */
  forUser(session: string, client?: string): UserDirectoryClient {
    return new UserDirectoryClient(this.http, this.url, session, client)
  }

  private post<T>(path: string, json: unknown): Promise<T> {
    return call(() => this.http.post(path, { json }).json<T>(), WHAT)
  }

  private get<T>(path: string, searchParams: Record<string, string | number> = {}): Promise<T> {
    return call(() => this.http.get(path, { searchParams }).json<T>(), WHAT)
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

  /** Tells the directory we could not connect to file server `id`. */
  unreachable(id: number, reason: string): Promise<{ ok: true }> {
    return this.post(`v1/servers/${id}/unreachable`, { reason: reason.slice(0, 500) })
  }

  /** The directory's clock, which stamps every version. */
  clock(): Promise<{ now: number }> {
    return this.get('v1/clock')
  }

  /** Reports every blob this server holds; the answer names those no kept version needs. */
  inventory(id: number, blobs: string[], asOf?: number): Promise<InventoryAnswer> {
    return call(
      () => this.http.post(`v1/servers/${id}/inventory`, { json: { blobs, asOf }, timeout: 120_000 }).json(),
      WHAT,
    )
  }

  /** Reports what changed since the inventory the directory acknowledged, or hears it wants a full one. */
  inventoryChanges(id: number, changes: InventoryChanges): Promise<InventoryAnswer | InventoryResync> {
    return call(
      () => this.http.post(`v1/servers/${id}/inventory/changes`, { json: changes, timeout: 120_000 }).json(),
      WHAT,
    )
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
  private readonly http: KyInstance
  private readonly url: string
  private readonly headers: Record<string, string>

  constructor(http: KyInstance, url: string, session: string, client?: string) {
    this.http = http
    this.url = url
    this.headers = { 'dfs-session': session, ...(client ? { [CLIENT_HEADER]: client } : {}) }
  }

  private post<T>(
    path: string,
    json?: unknown,
    options: { timeout?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    return call(() => this.http.post(path, { json, headers: this.headers, ...options }).json<T>(), WHAT)
  }

  private get<T>(path: string, searchParams: Record<string, string | number> = {}): Promise<T> {
    return call(() => this.http.get(path, { searchParams, headers: this.headers }).json<T>(), WHAT)
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

  locate(name: string): Promise<Located> {
    return this.get('v1/files', { name })
  }

  list(page: ListQuery): Promise<ListPage> {
    return this.get('v1/list', { ...page })
  }

  remove(name: string): Promise<FileVersion> {
    return call(
      () =>
        this.http.delete('v1/files', { searchParams: { name }, headers: this.headers }).json<FileVersion>(),
      WHAT,
    )
  }

  history(name: string): Promise<FileVersion[]> {
    return this.get('v1/versions', { name })
  }

  restore(name: string, version: number): Promise<FileVersion> {
    return this.post('v1/restore', { name, version })
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
    return this.post('v1/passwd', change)
  }

  listUsers(): Promise<AccountView[]> {
    return this.get('v1/users')
  }

  addUser(user: { user: string; password: string; admin?: boolean }): Promise<AccountView> {
    return this.post('v1/users', user)
  }

  removeUser(user: string): Promise<{ removed: string }> {
    return this.post('v1/users/rm', { user })
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
    return this.post('v1/tokens', token)
  }

  listTokens(): Promise<TokenView[]> {
    return this.get('v1/tokens')
  }

  revokeToken(id: string): Promise<{ revoked: string }> {
    return this.post('v1/tokens/revoke', { id })
  }

  listNodes(): Promise<NodeView[]> {
    return this.get('v1/nodes')
  }

  drainNode(id: number): Promise<{ draining: number }> {
    return this.post('v1/nodes/drain', { id })
  }

  removeNode(node: NodeRemoval): Promise<{ revoked: number; copies: number }> {
    return this.post('v1/nodes/rm', node)
  }

  audit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.get('v1/audit', definedOnly(query))
  }
}

/** Query parameters without the ones left out. */
export function definedOnly(query: AuditQuery): Record<string, string | number> {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined))
}
