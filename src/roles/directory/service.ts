// The directory's logic: live servers, placement, the namespace's compare-and-set commits, users and
// sessions. Routes in app.ts only validate and call in here.

import { DfsError } from '../../protocol/errors.ts'
import type {
  CommitRequest,
  FileVersion,
  Located,
  Placement,
  ServerInfo,
  ServerView,
  Session,
} from '../../protocol/types.ts'
import type { MetadataStore } from '../../metadata/store.ts'
import type { Clock, Random } from '../../server/clock.ts'
import { choosePlacement } from './placement.ts'
import { hashPassword, hashToken, verifyPassword } from './passwords.ts'

export interface DirectoryConfig {
  replicas: number
  /** A server whose last heartbeat is older than this is not offered for new files or reads. */
  liveAfterMs: number
  sessionTtlMs: number
}

export const DEFAULT_DIRECTORY_CONFIG: DirectoryConfig = {
  replicas: 2,
  liveAfterMs: 15_000,
  sessionTtlMs: 7 * 24 * 3600 * 1000,
}

export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export class DirectoryService {
  readonly store: MetadataStore
  readonly config: DirectoryConfig
  private readonly clock: Clock
  private readonly random: Random

  constructor(store: MetadataStore, config: DirectoryConfig, clock: Clock, random: Random) {
    this.store = store
    this.config = config
    this.clock = clock
    this.random = random
  }

  async heartbeat(server: Omit<ServerInfo, 'lastHeartbeat'>): Promise<void> {
    await this.store.upsertServer({ ...server, lastHeartbeat: this.clock.now() })
  }

  async servers(): Promise<ServerView[]> {
    const now = this.clock.now()
    return (await this.store.listServers()).map((s) => ({
      ...s,
      live: now - s.lastHeartbeat <= this.config.liveAfterMs,
    }))
  }

  async place(name: string, size: number, overwrite: boolean): Promise<Placement> {
    const current = await this.store.getFile(name)
    if (current && !overwrite)
      throw new DfsError('DFS_EXISTS', `${name} already exists (use --force to replace it)`)
    const servers = await this.servers()
    const chosen = choosePlacement(servers, this.config.replicas, size, this.random)
    const [primary, ...replicas] = chosen
    if (!primary) {
      const live = servers.filter((s) => s.live)
      throw live.length > 0
        ? new DfsError('DFS_NO_SPACE', `no live file server has room for ${size} bytes`)
        : new DfsError('DFS_UNAVAILABLE', 'no live file server: start one with dfs fileserver')
    }
    return { name, expectedVersion: current?.version ?? 0, primary, replicas }
  }

  async commit(request: CommitRequest): Promise<FileVersion> {
    return this.store.commit(request, this.clock.now())
  }

  async locate(name: string): Promise<Located> {
    const file = await this.store.getFile(name)
    if (!file) throw new DfsError('DFS_NOT_FOUND', `no such file: ${name}`)
    const servers = await this.servers()
    return { ...file, servers: servers.filter((s) => file.holders.includes(s.id)) }
  }

  async list(prefix: string, limit: number): Promise<FileVersion[]> {
    return this.store.listFiles(prefix, limit)
  }

  async remove(name: string): Promise<FileVersion> {
    return this.store.removeFile(name)
  }

  async status(): Promise<{ replicas: number; servers: ServerView[]; files: number; bytes: number }> {
    const [servers, counts] = await Promise.all([this.servers(), this.store.countFiles()])
    return { replicas: this.config.replicas, servers, ...counts }
  }

  /** The seed's rule: the first login of a new user name registers it; later logins must match. */
  async login(user: string, password: string): Promise<Session> {
    if (!USER_NAME.test(user))
      throw new DfsError('DFS_BAD_REQUEST', 'a user name is 1-64 letters, digits, . _ -')
    if (password.length === 0) throw new DfsError('DFS_AUTH', 'an empty password is not allowed')
    const existing = await this.store.getUser(user)
    if (existing) {
      if (!(await verifyPassword(password, existing.passwordHash))) throw wrongPassword()
    } else {
      const passwordHash = await hashPassword(password)
      if (!(await this.store.createUser({ name: user, passwordHash, created: this.clock.now() }))) {
        // Two first logins raced: the loser must match the winner's password.
        const winner = await this.store.getUser(user)
        if (!winner || !(await verifyPassword(password, winner.passwordHash))) throw wrongPassword()
      }
    }
    const token = this.random.token(32)
    const expires = this.clock.now() + this.config.sessionTtlMs
    await this.store.putSession({ tokenHash: hashToken(token), user, expires })
    return { user, token, expires }
  }

  async authenticate(token: string): Promise<{ user: string; expires: number }> {
    const session = await this.store.getSession(hashToken(token))
    if (!session || session.expires < this.clock.now()) {
      throw new DfsError('DFS_AUTH', 'not logged in, or the session expired: run dfs login')
    }
    return { user: session.user, expires: session.expires }
  }
}

function wrongPassword(): DfsError {
  return new DfsError('DFS_AUTH', 'wrong user name or password')
}
