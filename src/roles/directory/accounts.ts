// Users, groups and sessions. The seed's first-login registration stays the default (the first user
// becomes admin) and can be closed; admins add and remove users; sessions end after an idle time and
// at an absolute time, and are revoked by logout, a password change or the user's removal.

import { DfsError } from '../../protocol/errors.ts'
import { EVERYONE, type Actor } from '../../protocol/permissions.ts'
import type { AccountView, GroupView, Session } from '../../protocol/types.ts'
import type { MetadataStore, UserRecord } from '../../metadata/store.ts'
import type { Clock, Random } from '../../server/clock.ts'
import { LoginThrottle } from './login-throttle.ts'
import { MIN_PASSWORD_LENGTH, PasswordHasher, hashToken, needsRehash } from './passwords.ts'

export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
export const GROUP_NAME = USER_NAME

export interface AccountsConfig {
  /** 'open': a first login registers the name (the seed's rule); 'closed': only admins add users. */
  registration: 'open' | 'closed'
  /** A session unused this long ends. */
  sessionIdleMs: number
  /** A session ends this long after login, however used. */
  sessionMaxMs: number
}

export const DEFAULT_ACCOUNTS_CONFIG: AccountsConfig = {
  registration: 'open',
  sessionIdleMs: 24 * 3600 * 1000,
  sessionMaxMs: 7 * 24 * 3600 * 1000,
}

/** A session's last use is written at most this often (a read of every call, a write a minute). */
const TOUCH_EVERY_MS = 60_000

export interface AuthenticatedSession extends Actor {
  expires: number
  /** The sha256 of the bearer token, for logout. */
  tokenHash: string
}

export class Accounts {
  private readonly store: MetadataStore
  private readonly clock: Clock
  private readonly random: Random
  readonly config: AccountsConfig
  private readonly throttle: LoginThrottle
  private readonly hasher = new PasswordHasher()
  /**
   * Called (and waited for) after a session ends or a user loses access: proxies forget the
   * sessions and names they trusted (callbacks.ts). Gaining access needs no such word.
   */
  private readonly whoMayRead: () => Promise<void>

  constructor(deps: {
    store: MetadataStore
    clock: Clock
    random: Random
    config: AccountsConfig
    whoMayRead?: () => Promise<void>
  }) {
    this.store = deps.store
    this.clock = deps.clock
    this.random = deps.random
    this.config = deps.config
    this.throttle = new LoginThrottle(deps.clock)
    this.whoMayRead = deps.whoMayRead ?? (async () => undefined)
  }

  /**
   * Checks a password and opens a session. Failures are throttled per user name and per client
   * address (as the proxy saw it); a locked-out attempt is refused before any check.
   */
  async login(user: string, password: string, client?: string): Promise<Session> {
    checkUserName(user)
    if (password.length === 0) throw new DfsError('DFS_AUTH', 'an empty password is not allowed')
    this.throttle.check(user, client)
    try {
      const record = await this.checkPassword(user, password)
      this.throttle.succeeded(user, client)
      return await this.openSession(record.name)
    } catch (error) {
      if (error instanceof DfsError && error.code === 'DFS_AUTH') this.throttle.failed(user, client)
      throw error
    }
  }

  private async checkPassword(user: string, password: string): Promise<UserRecord> {
    const existing = await this.store.getUser(user)
    if (existing) return this.verify(existing, password)
    const first = !(await this.store.hasUsers())
    if (this.config.registration === 'closed' && !first) {
      // As slow as a wrong password, so timing does not tell which names exist.
      await this.hasher.burn(password)
      throw wrongPassword()
    }
    checkNewPassword(password)
    const record: UserRecord = {
      name: user,
      passwordHash: await this.hasher.hash(password),
      created: this.clock.now(),
      admin: first,
    }
    if (await this.store.createUser(record)) return record
    // Two first logins raced: the loser must match the winner's password.
    const winner = await this.store.getUser(user)
    if (!winner) throw wrongPassword()
    return this.verify(winner, password)
  }

  private async verify(user: UserRecord, password: string): Promise<UserRecord> {
    if (!(await this.hasher.verify(password, user.passwordHash))) throw wrongPassword()
    // Hashed with yesterday's parameters: rehash with today's while the password is at hand.
    if (needsRehash(user.passwordHash))
      await this.store.setPassword(user.name, await this.hasher.hash(password))
    return user
  }

  private async openSession(user: string): Promise<Session> {
    const token = this.random.token(32)
    const now = this.clock.now()
    const expires = now + this.config.sessionMaxMs
    await this.store.putSession({ tokenHash: hashToken(token), user, created: now, lastUsed: now, expires })
    return { user, token, expires }
  }

  /** The user a bearer token speaks for; DFS_AUTH if it is unknown, expired, idle or revoked. */
  async authenticate(token: string): Promise<AuthenticatedSession> {
    const tokenHash = hashToken(token)
    const session = await this.store.getSession(tokenHash)
    const now = this.clock.now()
    if (!session || session.expires <= now || now - session.lastUsed > this.config.sessionIdleMs) {
      throw new DfsError('DFS_AUTH', 'not logged in, or the session expired: run dfs login')
    }
    const actor = await this.actorFor(session.user)
    if (!actor) throw new DfsError('DFS_AUTH', 'the user of this session was removed')
    if (now - session.lastUsed > TOUCH_EVERY_MS) await this.store.touchSession(tokenHash, now)
    return { ...actor, expires: Math.min(session.expires, now + this.config.sessionIdleMs), tokenHash }
  }

  /** A user as permission checks see them; undefined if there is no such user. */
  async actorFor(user: string): Promise<Actor | undefined> {
    const record = await this.store.getUser(user)
    if (!record) return undefined
    return { user, admin: record.admin, groups: [EVERYONE, ...(await this.store.groupsOf(user))] }
  }

  async logout(session: AuthenticatedSession): Promise<{ loggedOut: boolean }> {
    const loggedOut = await this.store.deleteSession(session.tokenHash)
    await this.whoMayRead()
    return { loggedOut }
  }

  /**
   * Changes a password: one's own (with the current password), or anyone's for an admin. Every
   * session of that user ends; changing one's own opens a new one, returned.
   */
  async changePassword(
    actor: Actor,
    request: { user?: string; current?: string; password: string },
  ): Promise<{ user: string; sessionsEnded: number; session?: Session }> {
    const user = request.user ?? actor.user
    const record = await this.store.getUser(user)
    if (!record) throw new DfsError('DFS_NOT_FOUND', `no such user: ${user}`)
    if (user !== actor.user && !actor.admin)
      throw new DfsError('DFS_FORBIDDEN', `only an admin may change the password of ${user}`)
    if (user === actor.user && !actor.admin) {
      if (request.current === undefined || !(await this.hasher.verify(request.current, record.passwordHash)))
        throw new DfsError('DFS_AUTH', 'the current password is wrong')
    }
    checkNewPassword(request.password)
    await this.store.setPassword(user, await this.hasher.hash(request.password))
    const sessionsEnded = await this.store.deleteUserSessions(user)
    await this.whoMayRead()
    return {
      user,
      sessionsEnded,
      ...(user === actor.user ? { session: await this.openSession(user) } : {}),
    }
  }

  async addUser(
    actor: Actor,
    request: { user: string; password: string; admin?: boolean },
  ): Promise<AccountView> {
    requireAdmin(actor, 'add users')
    checkUserName(request.user)
    checkNewPassword(request.password)
    const record: UserRecord = {
      name: request.user,
      passwordHash: await this.hasher.hash(request.password),
      created: this.clock.now(),
      admin: request.admin === true,
    }
    if (!(await this.store.createUser(record)))
      throw new DfsError('DFS_EXISTS', `user ${request.user} already exists`)
    return this.view(record)
  }

  /** Removes a user and ends their sessions; their files keep them as owner until chown. */
  async removeUser(actor: Actor, user: string): Promise<{ removed: string }> {
    requireAdmin(actor, 'remove users')
    const record = await this.store.getUser(user)
    if (!record) throw new DfsError('DFS_NOT_FOUND', `no such user: ${user}`)
    if (record.admin) {
      const admins = (await this.store.listUsers()).filter((u) => u.admin)
      if (admins.length <= 1)
        throw new DfsError('DFS_CONFLICT', `${user} is the last admin: make another admin first`)
    }
    await this.store.removeUser(user)
    await this.whoMayRead()
    return { removed: user }
  }

  async listUsers(actor: Actor): Promise<AccountView[]> {
    requireAdmin(actor, 'list users')
    return Promise.all((await this.store.listUsers()).map((u) => this.view(u)))
  }

  private async view(user: UserRecord): Promise<AccountView> {
    return {
      user: user.name,
      admin: user.admin,
      created: user.created,
      groups: [EVERYONE, ...(await this.store.groupsOf(user.name))],
    }
  }

  async listGroups(): Promise<GroupView[]> {
    const groups = await this.store.listGroups()
    return [
      { group: EVERYONE, members: 'everyone' },
      ...groups.map((g) => ({ group: g.name, members: g.members })),
    ]
  }

  /** Makes a group (if new) and adds members, who must be users. */
  async addToGroup(actor: Actor, group: string, users: string[]): Promise<GroupView> {
    requireAdmin(actor, 'change groups')
    checkGroupName(group)
    for (const user of users)
      if (!(await this.store.getUser(user))) throw new DfsError('DFS_NOT_FOUND', `no such user: ${user}`)
    await this.store.addToGroup(group, users)
    return this.group(group)
  }

  /** Removes members, or with none given the whole group. */
  async removeFromGroup(
    actor: Actor,
    group: string,
    users: string[],
  ): Promise<GroupView | { removed: string }> {
    requireAdmin(actor, 'change groups')
    checkGroupName(group)
    if (users.length === 0) {
      if (!(await this.store.removeGroup(group)))
        throw new DfsError('DFS_NOT_FOUND', `no such group: ${group}`)
      await this.whoMayRead()
      return { removed: group }
    }
    await this.store.removeFromGroup(group, users)
    await this.whoMayRead()
    return this.group(group)
  }

  private async group(group: string): Promise<GroupView> {
    const found = (await this.store.listGroups()).find((g) => g.name === group)
    if (!found) throw new DfsError('DFS_NOT_FOUND', `no such group: ${group}`)
    return { group, members: found.members }
  }

  async groupExists(group: string): Promise<boolean> {
    return group === EVERYONE || (await this.store.listGroups()).some((g) => g.name === group)
  }

  /** Drops sessions past their end (a periodic job). */
  purgeSessions(): Promise<number> {
    const now = this.clock.now()
    return this.store.deleteExpiredSessions(now, now - this.config.sessionIdleMs)
  }
}

export function requireAdmin(actor: Actor, what: string): void {
  if (!actor.admin)
    throw new DfsError('DFS_FORBIDDEN', `only an admin may ${what} (${actor.user} is not one)`)
}

function checkUserName(user: string): void {
  if (!USER_NAME.test(user))
    throw new DfsError('DFS_BAD_REQUEST', 'a user name is 1-64 letters, digits, . _ -')
}

function checkNewPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH)
    throw new DfsError('DFS_BAD_REQUEST', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`)
}

function checkGroupName(group: string): void {
  if (!GROUP_NAME.test(group))
    throw new DfsError('DFS_BAD_REQUEST', 'a group name is 1-64 letters, digits, . _ -')
  if (group === EVERYONE)
    throw new DfsError('DFS_BAD_REQUEST', `every user is in group ${EVERYONE}: it has no member list`)
}

function wrongPassword(): DfsError {
  return new DfsError('DFS_AUTH', 'wrong user name or password')
}
