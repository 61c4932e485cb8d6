// The CLI's client of a proxy: JSON calls through ky, file bytes through node:https streams, both
// trusting only the cluster CA. Presents a bearer token.

import type { KyInstance } from 'ky'
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import type {
  ChangeFeedState,
  CommittedVersion,
  CreatedToken,
  NewTokenRequest,
  NodeRemoval,
  NodeView,
  TokenView,
  FileVersion,
  Lease,
  Located,
  RepairOutcome,
  RepairStatus,
  Session,
} from '../protocol/types.ts'
import type { DirectoryStatus } from './directory-client.ts'
import type { CacheStats } from '../roles/proxy/blob-cache.ts'
import type { RepairTask } from '../roles/directory/repairer.ts'
import { call, jsonClient } from './http.ts'
import { httpsFetch, httpsRequest, readJson } from './https-stream.ts'

export interface ProxyStatus extends DirectoryStatus {
  proxy: {
    id: number
    user: string
    cache: CacheStats
    badCopiesReported: number
    changeFeed: ChangeFeedState
  }
}

export class ProxyClient {
  readonly url: string
  private readonly ca: string
  private http: KyInstance
  private token?: string

  constructor(url: string, ca: string, token?: string) {
    this.url = url
    this.ca = ca
    this.http = jsonClient(url, httpsFetch(ca))
    this.useToken(token)
  }

  useToken(token: string | undefined): void {
    this.token = token
    this.http = jsonClient(this.url, httpsFetch(this.ca), this.authHeaders())
  }

  private authHeaders(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {}
  }

  private what(): string {
    return `proxy ${this.url}`
  }

  login(user: string, password: string): Promise<Session> {
    return call(() => this.http.post('v1/login', { json: { user, password } }).json<Session>(), this.what())
  }

  whoami(): Promise<{ user: string; proxy: number }> {
    return call(() => this.http.get('v1/whoami').json(), this.what())
  }

  stat(name: string): Promise<Located> {
    return call(() => this.http.get('v1/stat', { searchParams: { name } }).json<Located>(), this.what())
  }

  list(prefix: string): Promise<FileVersion[]> {
    return call(
      () => this.http.get('v1/list', { searchParams: { prefix } }).json<FileVersion[]>(),
      this.what(),
    )
  }

  remove(name: string): Promise<FileVersion> {
    return call(
      () => this.http.delete('v1/files', { searchParams: { name } }).json<FileVersion>(),
      this.what(),
    )
  }

  status(): Promise<ProxyStatus> {
    return call(() => this.http.get('v1/status').json<ProxyStatus>(), this.what())
  }

  async upload(
    name: string,
    body: Readable,
    options: { length?: number; token?: number; create?: boolean },
  ): Promise<CommittedVersion> {
    const query = new URLSearchParams({ name })
    if (options.token !== undefined) query.set('token', String(options.token))
    if (options.create) query.set('create', 'true')
    const headers: Record<string, string> = {
      ...this.authHeaders(),
      'content-type': 'application/octet-stream',
    }
    if (options.length !== undefined) headers['content-length'] = String(options.length)
    const response = await httpsRequest('PUT', `${this.url}/v1/files?${query}`, {
      ca: this.ca,
      headers,
      body,
      what: this.what(),
    })
    return (await readJson(response)) as CommittedVersion
  }

  /** Waits in line for the write lease on `name`, up to `waitMs`. */
  async acquire(name: string, waitMs: number, ttlMs: number): Promise<Lease> {
    const response = await httpsRequest('POST', `${this.url}/v1/locks`, {
      ca: this.ca,
      headers: { ...this.authHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({ name, wait: waitMs, ttl: ttlMs }),
      what: this.what(),
    })
    return (await readJson(response)) as Lease
  }

  renew(name: string, token: number, ttlMs: number): Promise<Lease> {
    return call(
      () => this.http.post('v1/locks/renew', { json: { name, token, ttl: ttlMs } }).json<Lease>(),
      this.what(),
    )
  }

  release(name: string, token: number): Promise<{ released: boolean }> {
    return call(() => this.http.post('v1/locks/release', { json: { name, token } }).json(), this.what())
  }

  history(name: string): Promise<FileVersion[]> {
    return call(
      () => this.http.get('v1/versions', { searchParams: { name } }).json<FileVersion[]>(),
      this.what(),
    )
  }

  restore(name: string, version: number): Promise<FileVersion> {
    return call(
      () => this.http.post('v1/restore', { json: { name, version } }).json<FileVersion>(),
      this.what(),
    )
  }

  repairPlan(): Promise<RepairTask[]> {
    return call(() => this.http.get('v1/repair/plan').json<RepairTask[]>(), this.what())
  }

  createToken(token: NewTokenRequest): Promise<CreatedToken> {
    return call(() => this.http.post('v1/tokens', { json: token }).json<CreatedToken>(), this.what())
  }

  listTokens(): Promise<TokenView[]> {
    return call(() => this.http.get('v1/tokens').json<TokenView[]>(), this.what())
  }

  revokeToken(id: string): Promise<{ revoked: string }> {
    return call(() => this.http.post('v1/tokens/revoke', { json: { id } }).json(), this.what())
  }

  listNodes(): Promise<NodeView[]> {
    return call(() => this.http.get('v1/nodes').json<NodeView[]>(), this.what())
  }

  drainNode(id: number): Promise<{ draining: number }> {
    return call(() => this.http.post('v1/nodes/drain', { json: { id } }).json(), this.what())
  }

  removeNode(node: NodeRemoval): Promise<{ revoked: number; copies: number }> {
    return call(() => this.http.post('v1/nodes/rm', { json: node }).json(), this.what())
  }

  repairRun(): Promise<RepairOutcome & { status: RepairStatus }> {
    return call(() => this.http.post('v1/repair/run', { timeout: false }).json(), this.what())
  }

  /** The stream of namespace changes under `prefix` (server-sent events), until closed. */
  events(prefix: string): Promise<IncomingMessage> {
    return httpsRequest('GET', `${this.url}/v1/events?${new URLSearchParams({ prefix })}`, {
      ca: this.ca,
      headers: { ...this.authHeaders(), accept: 'text/event-stream' },
      what: this.what(),
    })
  }

  /** Opens NAME for reading; with `ifNoneMatch` (a sha256) the answer may be 304, no body. */
  download(
    name: string,
    options: { offline?: boolean; ifNoneMatch?: string } = {},
  ): Promise<IncomingMessage> {
    const query = new URLSearchParams({ name })
    if (options.offline) query.set('offline', 'true')
    const headers = this.authHeaders()
    if (options.ifNoneMatch) headers['if-none-match'] = `"${options.ifNoneMatch}"`
    return httpsRequest('GET', `${this.url}/v1/files?${query}`, {
      ca: this.ca,
      headers,
      what: this.what(),
    })
  }

  async close(): Promise<void> {}
}
