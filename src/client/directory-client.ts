// The typed client of the directory's API, used by file servers and proxies (mutual TLS).

import type { KyInstance } from 'ky'
import type { Agent } from 'undici'
import type {
  DirectoryStatus,
  CommitRequest,
  CommittedVersion,
  FileVersion,
  JobState,
  Lease,
  LeaseOwner,
  Located,
  Placement,
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
import { call, jsonClient } from './http.ts'
import { dispatcherFetch } from './streams.ts'
import type { RepairTask } from '../roles/directory/repairer.ts'

export type { DirectoryStatus }

/** How failures name the directory: users of a proxy are not shown its internal address (the log is). */
const WHAT = 'directory'

export class DirectoryClient {
  private readonly http: KyInstance
  readonly url: string

  constructor(url: string, agent: Agent) {
    this.url = url
    this.http = jsonClient(url, dispatcherFetch(agent))
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

  place(
    name: string,
    size: number,
    options: { token?: number; create?: boolean; avoid?: number[] },
  ): Promise<Placement> {
    return this.post('v1/placements', { name, size, ...options })
  }

  /** Servers to copy a finished blob to in place of replicas that failed mid-write. */
  replacements(size: number, count: number, avoid: number[]): Promise<ServerView[]> {
    return this.post('v1/placements/replacements', { size, count, avoid })
  }

  /** Tells the directory we could not connect to file server `id`. */
  unreachable(id: number, reason: string): Promise<{ ok: true }> {
    return this.post(`v1/servers/${id}/unreachable`, { reason: reason.slice(0, 500) })
  }

  /** Waits in line for the lease on `name` (a long poll of up to `waitMs`). */
  acquire(
    name: string,
    owner: LeaseOwner,
    ttlMs: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<Lease> {
    return call(
      () =>
        this.http
          .post('v1/locks', { json: { name, ...owner, ttlMs, waitMs }, timeout: waitMs + 30_000, signal })
          .json<Lease>(),
      WHAT,
    )
  }

  history(name: string): Promise<FileVersion[]> {
    return this.get('v1/versions', { name })
  }

  restore(name: string, version: number, writer: string): Promise<FileVersion> {
    return this.post('v1/restore', { name, version, writer })
  }

  repairPlan(): Promise<RepairTask[]> {
    return this.get('v1/repair/plan')
  }

  repairRun(): Promise<RepairOutcome & { status: RepairStatus }> {
    return call(() => this.http.post('v1/repair/run', { timeout: 3_600_000 }).json(), WHAT)
  }

  /** The directory's clock, which stamps every version. */
  clock(): Promise<{ now: number }> {
    return this.get('v1/clock')
  }

  /** Reports every blob this server holds; the answer names those no kept version needs. */
  inventory(id: number, blobs: string[], asOf?: number): Promise<{ unreferenced: string[]; now: number }> {
    return call(
      () => this.http.post(`v1/servers/${id}/inventory`, { json: { blobs, asOf }, timeout: 120_000 }).json(),
      WHAT,
    )
  }

  /** Tells the directory a holder sent bytes that do not match their hash. */
  report(server: number, sha256: string, reason: string): Promise<{ ok: true }> {
    return this.post('v1/reports', { server, sha256, reason })
  }

  renew(name: string, token: number, ttlMs: number): Promise<Lease> {
    return this.post('v1/locks/renew', { name, token, ttlMs })
  }

  release(name: string, token: number): Promise<{ released: boolean }> {
    return this.post('v1/locks/release', { name, token })
  }

  commit(request: CommitRequest): Promise<CommittedVersion> {
    return this.post('v1/commits', request)
  }

  locate(name: string): Promise<Located> {
    return this.get('v1/files', { name })
  }

  list(prefix: string): Promise<FileVersion[]> {
    return this.get('v1/list', { prefix })
  }

  remove(name: string): Promise<FileVersion> {
    return call(() => this.http.delete('v1/files', { searchParams: { name } }).json<FileVersion>(), WHAT)
  }

  status(): Promise<DirectoryStatus> {
    return this.get('v1/status')
  }

  servers(): Promise<ServerView[]> {
    return this.get('v1/servers')
  }

  login(user: string, password: string, client?: string): Promise<Session> {
    return this.post('v1/login', { user, password, ...(client ? { client } : {}) })
  }

  createToken(user: string, token: NewTokenRequest): Promise<CreatedToken> {
    return this.post('v1/tokens', { user, ...token })
  }

  listTokens(user: string): Promise<TokenView[]> {
    return this.get('v1/tokens', { user })
  }

  revokeToken(user: string, id: string): Promise<{ revoked: string }> {
    return this.post('v1/tokens/revoke', { user, id })
  }

  listNodes(user: string): Promise<NodeView[]> {
    return this.get('v1/nodes', { user })
  }

  drainNode(user: string, id: number): Promise<{ draining: number }> {
    return this.post('v1/nodes/drain', { user, id })
  }

  removeNode(user: string, node: NodeRemoval): Promise<{ revoked: number; copies: number }> {
    return this.post('v1/nodes/rm', { user, ...node })
  }

  checkSession(token: string): Promise<{ user: string; expires: number }> {
    return this.post('v1/sessions/check', { token })
  }
}
