// The CLI's client of a proxy: JSON calls through ky, file bytes through node:https streams, both
// trusting only the cluster CA. Presents a bearer token.

import type { KyInstance, ResponsePromise } from 'ky'
import type { IncomingMessage } from 'node:http'
import { Agent } from 'node:https'
import type { Readable } from 'node:stream'
import type {
  AuditEntry,
  AuditQuery,
  ChangeFeedState,
  CommittedVersion,
  CreatedToken,
  NewTokenRequest,
  NodeRemoval,
  NodeView,
  TokenView,
  FileVersion,
  GroupView,
  HeldLeaseView,
  Lease,
  ListPage,
  Located,
  VersionBlocks,
  PrefixRuleView,
  AccountView,
  RepairOutcome,
  RepairStatus,
  Session,
} from '../protocol/types.ts'
import type { ListQuery } from '../protocol/schemas.ts'
import type { DirectoryStatus } from './directory-client.ts'
import type { CacheStats } from '../roles/proxy/blob-cache.ts'
import type { RepairTask } from '../roles/directory/repairer.ts'
import { call } from './call-errors.ts'
import { httpsRequest, readJson } from './https-stream.ts'
import { definedOnly } from './query-params.ts'
import { JSON_TIMEOUT_MS } from './timeouts.ts'

export interface ProxyStatus extends DirectoryStatus {
  proxy: {
    id: number
    user: string
    cache: CacheStats
    badCopiesReported: number
    changeFeed: ChangeFeedState
    /** Reads served from the cache without asking the directory (absent from older proxies). */
    trustedReads?: number
    promiseHolds?: boolean
    /** The directory the proxy uses (absent from proxies older than failover), and all it knows. */
    directory?: string
    directories?: string[]
  }
}

export class ProxyClient {
  readonly url: string
  private readonly ca: string
  /** ky, made on the first JSON call: a file transfer makes none, and loading ky costs start-up time. */
  private http?: KyInstance
  private token?: string
  /**
   * One connection kept open across this client's calls (a `dfs write` makes three: lease, upload,
   * release), so that each does not pay for a TLS handshake. Idle, it does not keep the program running.
   */
  private readonly agent: Agent

  constructor(url: string, ca: string, token?: string) {
    this.url = url
    this.ca = ca
    this.agent = new Agent({ keepAlive: true, ca })
    this.useToken(token)
  }

  useToken(token: string | undefined): void {
    this.token = token
    this.http = undefined
  }

  /** One JSON call through ky: its JSON answer, every failure a DfsError. */
  private async json<T>(send: (http: KyInstance) => ResponsePromise): Promise<T> {
    const [{ jsonClient }, { httpsFetch }] = await Promise.all([
      import('./http.ts'),
      import('./https-fetch.ts'),
    ])
    const http = (this.http ??= jsonClient(this.url, httpsFetch(this.ca), this.authHeaders()))
    return call(() => send(http).json<T>(), this.what())
  }

  /** What a plain HTTPS client needs to call this proxy as this session (dfs bench's own load). */
  endpoint(): { url: string; ca: string; headers: Record<string, string> } {
    return { url: this.url, ca: this.ca, headers: this.authHeaders() }
  }

  private authHeaders(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {}
  }

  private what(): string {
    return `proxy ${this.url}`
  }

  login(user: string, password: string): Promise<Session> {
    return this.direct('POST', 'v1/login', { user, password })
  }

  whoami(): Promise<{ user: string; admin: boolean; groups: string[]; proxy: number }> {
    return this.direct('GET', 'v1/whoami')
  }

  stat(name: string): Promise<Located> {
    return this.json<Located>((http) => http.get('v1/stat', { searchParams: { name } }))
  }

  /** The block list of the kept version of NAME whose bytes are `sha256` (protocol/blocks.ts). */
  blocks(name: string, sha256: string): Promise<VersionBlocks> {
    return this.json<VersionBlocks>((http) => http.get('v1/blocks', { searchParams: { name, sha256 } }))
  }

  /** One page of the names under `prefix` the user may read. */
  listPage(page: ListQuery): Promise<ListPage> {
    return this.json<ListPage>((http) => http.get('v1/list', { searchParams: { ...page } }))
  }

  /** Every name under `prefix` the user may read (or the first `limit`), a page at a time. */
  async *list(prefix: string, limit = Infinity): AsyncGenerator<FileVersion> {
    let after: string | undefined
    let left = limit
    while (left > 0) {
      const page = await this.listPage({
        prefix,
        ...(after === undefined ? {} : { after }),
        limit: Math.min(left, 1000),
      })
      for (const file of page.files.slice(0, left)) yield file
      left -= page.files.length
      if (page.next === undefined) return
      after = page.next
    }
  }

  remove(name: string): Promise<FileVersion> {
    return this.json<FileVersion>((http) => http.delete('v1/files', { searchParams: { name } }))
  }

  status(): Promise<ProxyStatus> {
    return this.json<ProxyStatus>((http) => http.get('v1/status'))
  }

  async upload(
    name: string,
    body: Readable,
    options: { length?: number; lease?: string; create?: boolean },
  ): Promise<CommittedVersion> {
    const query = new URLSearchParams({ name })
    if (options.lease !== undefined) query.set('lease', options.lease)
    if (options.create) query.set('create', 'true')
    const headers: Record<string, string> = {
      ...this.authHeaders(),
      'content-type': 'application/octet-stream',
    }
    if (options.length !== undefined) headers['content-length'] = String(options.length)
    const response = await httpsRequest('PUT', `${this.url}/v1/files?${query}`, {
      ca: this.ca,
      agent: this.agent,
      headers,
      body,
      what: this.what(),
    })
    return (await readJson(response)) as CommittedVersion
  }

  /** Waits in line for the write lease on `name`, up to `waitMs`. */
  acquire(name: string, waitMs: number, ttlMs: number): Promise<HeldLeaseView> {
    return this.direct('POST', 'v1/locks', { name, wait: waitMs, ttl: ttlMs }, null)
  }

  /** Extends a lease, given its key (`<token>.<secret>`). */
  renew(name: string, lease: string, ttlMs: number): Promise<Lease> {
    return this.direct('POST', 'v1/locks/renew', { name, lease, ttl: ttlMs })
  }

  release(name: string, lease: string): Promise<{ released: boolean }> {
    return this.direct('POST', 'v1/locks/release', { name, lease })
  }

  /**
   * A JSON call over node:https, not ky: the session and lease calls of `dfs put`, `get`, `write`
   * and `lock`, which scripts run in a loop. ky's module reads WHATWG Request as it loads, and Node's
   * fetch behind it costs about 60 ms of start-up CPU, a fifth of such a command. Failures are
   * DfsErrors, as through ky, and the answer must begin within ky's time for a JSON call (`null`: no
   * limit, for a wait in line).
   */
  private async direct<T>(
    method: 'GET' | 'POST',
    path: string,
    json?: unknown,
    timeoutMs: number | null = JSON_TIMEOUT_MS,
  ): Promise<T> {
    const response = await httpsRequest(method, `${this.url}/${path}`, {
      ca: this.ca,
      agent: this.agent,
      headers:
        json === undefined
          ? this.authHeaders()
          : { ...this.authHeaders(), 'content-type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
      what: this.what(),
      timeoutMs: timeoutMs ?? undefined,
    })
    return (await readJson(response)) as T
  }

  private postJson<T>(path: string, json?: unknown): Promise<T> {
    return this.json<T>((http) => http.post(path, { json }))
  }

  private getJson<T>(path: string): Promise<T> {
    return this.json<T>((http) => http.get(path))
  }

  /** chmod/chown of one name, or of the rule of a prefix (a name ending in '/'). */
  setPerms(change: {
    name: string
    mode?: string
    owner?: string
    group?: string
  }): Promise<Record<string, unknown>> {
    return this.postJson('v1/perms', change)
  }

  prefixRules(): Promise<PrefixRuleView[]> {
    return this.getJson('v1/perms/rules')
  }

  logout(): Promise<{ loggedOut: boolean }> {
    return this.postJson('v1/logout')
  }

  changePassword(change: { user?: string; current?: string; password: string }): Promise<{
    user: string
    sessionsEnded: number
    session?: Session
  }> {
    return this.postJson('v1/passwd', change)
  }

  listUsers(): Promise<AccountView[]> {
    return this.getJson('v1/users')
  }

  addUser(user: { user: string; password: string; admin?: boolean }): Promise<AccountView> {
    return this.postJson('v1/users', user)
  }

  removeUser(user: string): Promise<{ removed: string }> {
    return this.postJson('v1/users/rm', { user })
  }

  listGroups(): Promise<GroupView[]> {
    return this.getJson('v1/groups')
  }

  addToGroup(group: string, users: string[]): Promise<GroupView> {
    return this.postJson('v1/groups', { group, users })
  }

  removeFromGroup(group: string, users: string[]): Promise<GroupView | { removed: string }> {
    return this.postJson('v1/groups/rm', { group, users })
  }

  history(name: string): Promise<FileVersion[]> {
    return this.json<FileVersion[]>((http) => http.get('v1/versions', { searchParams: { name } }))
  }

  restore(name: string, version: number): Promise<FileVersion> {
    return this.json<FileVersion>((http) => http.post('v1/restore', { json: { name, version } }))
  }

  repairPlan(): Promise<RepairTask[]> {
    return this.json<RepairTask[]>((http) => http.get('v1/repair/plan'))
  }

  createToken(token: NewTokenRequest): Promise<CreatedToken> {
    return this.json<CreatedToken>((http) => http.post('v1/tokens', { json: token }))
  }

  listTokens(): Promise<TokenView[]> {
    return this.json<TokenView[]>((http) => http.get('v1/tokens'))
  }

  revokeToken(id: string): Promise<{ revoked: string }> {
    return this.json((http) => http.post('v1/tokens/revoke', { json: { id } }))
  }

  listNodes(): Promise<NodeView[]> {
    return this.json<NodeView[]>((http) => http.get('v1/nodes'))
  }

  drainNode(id: number): Promise<{ draining: number }> {
    return this.json((http) => http.post('v1/nodes/drain', { json: { id } }))
  }

  removeNode(node: NodeRemoval): Promise<{ revoked: number; copies: number }> {
    return this.json((http) => http.post('v1/nodes/rm', { json: node }))
  }

  /** The newest audit entries that match, oldest first (admins only). */
  audit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.json<AuditEntry[]>((http) => http.get('v1/audit', { searchParams: definedOnly(query) }))
  }

  repairRun(): Promise<RepairOutcome & { status: RepairStatus }> {
    return this.json((http) => http.post('v1/repair/run', { timeout: false }))
  }

  /** The stream of namespace changes under `prefix` (server-sent events), until closed. */
  events(prefix: string): Promise<IncomingMessage> {
    return httpsRequest('GET', `${this.url}/v1/events?${new URLSearchParams({ prefix })}`, {
      ca: this.ca,
      agent: this.agent,
      headers: { ...this.authHeaders(), accept: 'text/event-stream' },
      what: this.what(),
    })
  }

  /**
   * Opens NAME for reading; with `ifNoneMatch` (a sha256) the answer may be 304, no body; with
   * `range` (a Range header's value) 206, those bytes.
   */
  download(
    name: string,
    options: { offline?: boolean; ifNoneMatch?: string; range?: string } = {},
  ): Promise<IncomingMessage> {
    const query = new URLSearchParams({ name })
    if (options.offline) query.set('offline', 'true')
    const headers = this.authHeaders()
    if (options.ifNoneMatch) headers['if-none-match'] = `"${options.ifNoneMatch}"`
    if (options.range) headers.range = options.range
    return httpsRequest('GET', `${this.url}/v1/files?${query}`, {
      ca: this.ca,
      agent: this.agent,
      headers,
      what: this.what(),
    })
  }

  async close(): Promise<void> {
    this.agent.destroy()
  }
}
