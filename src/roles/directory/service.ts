// The directory's logic: live servers, placement, the namespace's compare-and-set commits, each
// checked against the acting user's permissions. Accounts (users, groups, sessions) are in
// accounts.ts and permissions in access.ts. Routes in app.ts only validate and call in here.

import { blockDigests } from '../../protocol/blocks.ts'
import { DfsError } from '../../protocol/errors.ts'
import type {
  BadCopyReport,
  CommitRequest,
  DirectoryStatus,
  FileVersion,
  Heartbeat,
  JobState,
  Located,
  HeldLeaseView,
  Lease,
  ListPage,
  CopyRequest,
  MoveRequest,
  Placement,
  PlacementBatch,
  ServerView,
  VersionBlocks,
} from '../../protocol/types.ts'
import type { Actor, Perms } from '../../protocol/permissions.ts'
import { holdsLease, type MetadataStore, type NewVersion } from '../../metadata/store.ts'
import type { Clock, Random } from '../../server/clock.ts'
import { NamespaceAccess } from './access.ts'
import { Accounts, DEFAULT_ACCOUNTS_CONFIG, type AccountsConfig } from './accounts.ts'
import { CallbackTable, PROMISE_MS } from './callbacks.ts'
import { ChangeLog } from './change-log.ts'
import { listChildren } from './child-listing.ts'
import { Collections } from './collections.ts'
import { Inventories } from './inventory.ts'
import { LeaseTable, leaseKey } from './lease-table.ts'
import type { Repairer } from './repairer.ts'
import { canTake, choosePlacement } from './placement.ts'

export interface DirectoryConfig extends AccountsConfig {
  replicas: number
  /**
   * Copies a write needs before it is acknowledged (at most `replicas`). Between the two, the version
   * is committed under-replicated and repair adds the missing copies as soon as a server can take them.
   */
  minCopies: number
  /** A server whose last heartbeat is older than this is not offered for new files or reads. */
  liveAfterMs: number
  /** A server silent this long is dead: its copies no longer count, and repair replaces them. */
  deadAfterMs: number
  /** Versions kept per name (the current one included). */
  keepVersions: number
  /** Mode bits of new names below no prefix rule (group `users`). */
  defaultMode: number
}

export const DEFAULT_DIRECTORY_CONFIG: DirectoryConfig = {
  replicas: 2,
  minCopies: 2,
  liveAfterMs: 15_000,
  // As HDFS does: long enough that a restart or a short outage does not start a storm of copies.
  deadAfterMs: 10 * 60_000,
  keepVersions: 5,
  // rw for owner and group, r for others, everyone in group users: the seed's shared editing.
  defaultMode: 0o664,
  ...DEFAULT_ACCOUNTS_CONFIG,
}

/** Names one listing call looks at, at most (it returns a cursor for the rest). */
const LIST_SCAN = 10_000

/** The job_states key of a file server's background jobs. */
const serverJobs = (id: number) => `fileserver ${id}`

/** Bad-copy reports kept for `dfs status`. */
const REPORTS_KEPT = 100

export interface PlaceOptions {
  /** The writer's lease (`<token>.<secret>`): allows replacing an existing name. */
  lease?: string
  /** With a lease: the name may be new. */
  create?: boolean
  /** Servers the writer could not reach on an earlier try: not placed on again. */
  avoid?: number[]
}

export class DirectoryService {
  readonly store: MetadataStore
  readonly config: DirectoryConfig
  private readonly clock: Clock
  private readonly random: Random
  readonly leases: LeaseTable
  readonly accounts: Accounts
  readonly access: NamespaceAccess
  /** The change feed, kept in the store: proxies subscribe to it (GET /v1/events). */
  readonly feed: ChangeLog
  /** Proxies' promises that what they cache is current (callbacks.ts): changes wait for them. */
  readonly callbacks: CallbackTable
  readonly inventories: Inventories
  /** Folders and dead properties (the WebDAV gateway's). */
  readonly collections: Collections
  /** Servers a node could not connect to: not placed on until they heartbeat again. */
  private readonly unreachable = new Set<number>()
  /** Each server's background jobs as of its last heartbeat here: for `dfs status`. */
  private readonly jobs = new Map<number, Record<string, JobState>>()
  /** What this directory last saved of each server's jobs (they are saved when they change). */
  private readonly savedJobs = new Map<number, string>()
  /** Set by the process that runs repair (absent in route tests). */
  repairer?: Repairer

  constructor(store: MetadataStore, config: DirectoryConfig, clock: Clock, random: Random) {
    this.store = store
    this.config = config
    this.clock = clock
    this.random = random
    this.leases = new LeaseTable(store, clock, random)
    this.feed = new ChangeLog(store)
    // Directories sharing a store cannot wait for each other's proxies: none then grants promises.
    this.callbacks = new CallbackTable(clock, store.shared ? 0 : PROMISE_MS)
    const whoMayRead = () => this.whoMayReadChanged()
    this.accounts = new Accounts({ store, clock, random, config, whoMayRead })
    this.access = new NamespaceAccess({
      store,
      accounts: this.accounts,
      defaultMode: config.defaultMode,
      whoMayRead,
    })
    this.inventories = new Inventories({ store, clock, random })
    this.collections = new Collections(store, this.access)
  }

  now(): number {
    return this.clock.now()
  }

  async heartbeat({ jobs, ...server }: Heartbeat): Promise<void> {
    const now = this.clock.now()
    const before = (await this.servers()).find((s) => s.id === server.id)
    await this.store.upsertServer({ ...server, lastHeartbeat: now })
    this.unreachable.delete(server.id)
    if (jobs) this.jobs.set(server.id, jobs)
    else this.jobs.delete(server.id)
    // Saved when they change, for the other directories sharing the store (status only).
    const saved = JSON.stringify(jobs ?? {})
    if (this.savedJobs.get(server.id) !== saved) {
      await this.store.putJobState(serverJobs(server.id), saved)
      this.savedJobs.set(server.id, saved)
    }
    // A server back (or new) may take the copies that versions committed short of R are missing.
    if (!before?.live) this.repairer?.wake()
  }

  /**
   * A node could not connect to file server `id`: it is not offered for writes (nor first for reads)
   * until its next heartbeat shows it is up, instead of for the rest of the live window.
   */
  markUnreachable(id: number): void {
    this.unreachable.add(id)
  }

  async servers(): Promise<ServerView[]> {
    const now = this.clock.now()
    return (await this.store.listServers()).map((s) => {
      const unreachable = this.unreachable.has(s.id)
      const jobs = this.jobs.get(s.id)
      // Dead wins over live when --dead-after is set below --live-after.
      const dead = now - s.lastHeartbeat > this.config.deadAfterMs
      return {
        ...s,
        live: now - s.lastHeartbeat <= this.config.liveAfterMs && !unreachable && !dead,
        dead,
        ...(unreachable ? { unreachable: true } : {}),
        ...(jobs ? { jobs } : {}),
      }
    })
  }

  /**
   * Where a write of `name` goes. A new name gets R fresh servers; a write under a lease (`token`)
   * goes to the file's current primary and holders where they are live (the seed's master), topped
   * up with fresh servers. A token that is no longer the newest is refused here already, before any
   * byte moves; the commit checks it again.
   */
  async place(
    actor: Actor,
    proxy: number,
    name: string,
    size: number,
    options: PlaceOptions = {},
  ): Promise<Placement> {
    await this.access.forWrite(actor, name)
    const current = await this.store.getFile(name)
    if (options.lease !== undefined) {
      const lease = await this.store.getLease(name)
      if (!lease || !holdsLease(lease, leaseKey(options.lease), actor.user) || lease.proxy !== proxy) {
        throw new DfsError('DFS_CONFLICT', `the write lease on ${name} was lost: another writer took it`)
      }
      if (!current && !options.create)
        throw new DfsError('DFS_NOT_FOUND', `no such file: ${name} (use --create)`)
    } else if (current) {
      throw new DfsError('DFS_EXISTS', `${name} already exists (use --force to replace it)`)
    }
    const avoid = new Set(options.avoid ?? [])
    const known = await this.servers()
    const servers = known.filter((s) => !avoid.has(s.id))
    const previous = current
      ? [current.primary, ...current.holders.filter((id) => id !== current.primary)]
      : []
    const kept = previous
      .map((id) => servers.find((s) => s.id === id))
      .filter((s): s is ServerView => s !== undefined && canTake(s, size))
    const fresh = choosePlacement(
      servers.filter((s) => !kept.some((k) => k.id === s.id)),
      this.config.replicas - kept.length,
      size,
      this.random,
    )
    const chosen = [...kept, ...fresh].slice(0, this.config.replicas)
    this.enoughFor(chosen.length, servers, known.length, size)
    const [primary, ...replicas] = chosen as [ServerView, ...ServerView[]]
    return { name, expectedVersion: current?.version ?? 0, primary, replicas, wanted: this.config.replicas }
  }

  /**
   * `count` placements for new files of up to `size` bytes, for a proxy to use as writes come (each
   * once, for a short while): a write of a new name then makes no call here before its commit.
   * Refused, as place() would be, when too few servers can take them.
   */
  async placements(size: number, count: number): Promise<PlacementBatch> {
    const servers = await this.servers()
    const placements: PlacementBatch['placements'] = []
    for (let i = 0; i < count; i++) {
      const chosen = choosePlacement(servers, this.config.replicas, size, this.random)
      this.enoughFor(chosen.length, servers, servers.length, size)
      const [primary, ...replicas] = chosen as [ServerView, ...ServerView[]]
      placements.push({ primary, replicas })
    }
    return { placements, wanted: this.config.replicas }
  }

  /** Extra servers for a write whose replica failed mid-way: live, with room, none of `avoid`. */
  async replacements(size: number, count: number, avoid: number[]): Promise<ServerView[]> {
    const servers = (await this.servers()).filter((s) => !avoid.includes(s.id))
    return choosePlacement(servers, count, size, this.random)
  }

  /** Refuses a write that could not reach --min-copies servers, saying how short the cluster is. */
  private enoughFor(copies: number, candidates: ServerView[], known: number, size: number): void {
    const { minCopies } = this.config
    if (copies >= minCopies) return
    const live = candidates.filter((s) => s.live).length
    if (live >= minCopies)
      throw new DfsError(
        'DFS_NO_SPACE',
        `fewer than ${minCopies} live file servers have room for ${size} bytes`,
      )
    throw new DfsError(
      'DFS_UNAVAILABLE',
      live === 0 && known === 0
        ? 'no live file server: start one with dfs fileserver'
        : `only ${live} of ${known} file servers ${live === 1 ? 'is' : 'are'} live and reachable; a write needs ${minCopies} (--min-copies)`,
    )
  }

  /**
   * A write's commit: refused below --min-copies (the write fails, nothing changes); below R it is
   * committed under-replicated, and repair is woken to add the missing copies at once.
   */
  async commit(request: CommitRequest): Promise<FileVersion & { heard?: number }> {
    // A list that does not fit the size would fail every reader later: refused now. A file of more
    // than one block may come without one (a file server from before lists, or past what is kept).
    if (request.blocks !== undefined) blockDigests(request, 'the block list')
    if (request.holders.length < this.config.minCopies) {
      const servers = await this.servers()
      const live = servers.filter((s) => s.live).length
      throw new DfsError(
        'DFS_UNAVAILABLE',
        `only ${request.holders.length} ${request.holders.length === 1 ? 'copy' : 'copies'} of ${request.name} could be made (${live} of ${servers.length} file servers live and reachable); a write needs ${this.config.minCopies} (--min-copies)`,
      )
    }
    // The writer's permission again, as of now: a chmod since the placement counts.
    const writer = await this.accounts.actorFor(request.writer)
    if (!writer) throw new DfsError('DFS_AUTH', `no such user: ${request.writer}`)
    const perms = await this.access.forWrite(writer, request.name)
    const { lease, proxy, ...rest } = request
    const version = await this.record({ ...rest, perms, ...(lease ? { lease: leaseKey(lease) } : {}) }, proxy)
    if (version.holders.length < this.config.replicas) this.repairer?.wake()
    // Who may read it, as a locate would say: the writer's proxy then knows the name in full.
    return { ...version, owner: perms.owner, group: perms.group, mode: perms.mode }
  }

  /** `through`: the writer's proxy, not waited for (see changesHeard); `heard` is for it. */
  private async record(request: NewVersion, through?: number): Promise<FileVersion & { heard?: number }> {
    const version = await this.store.commit(request, this.clock.now())
    const heard = await this.changesHeard(through)
    await this.prune(version)
    return heard === undefined ? version : { ...version, heard }
  }

  /** Drops the versions of a name past --keep-versions, once `version` is its newest. */
  private async prune(version: FileVersion): Promise<void> {
    const keep = Math.max(this.config.keepVersions, 1)
    // Versions numbered up to `keep` leave nothing to prune (a name has at most as many versions as
    // its newest number), and cost no look-up and no second transaction: a small write's commit is
    // one fsync of the metadata store, not two.
    if (version.version <= keep) return
    const pruned = (await this.store.listVersions(version.name)).slice(keep)
    await this.store.pruneVersions(version.name, keep)
    // Their blobs may be garbage now: the holders hear so in their next inventory of changes.
    this.inventories.released(pruned)
  }

  /**
   * Renames `from` to `to` in one transaction: `to` gets a new version naming the same blob (no
   * byte moves), with `from`'s owner, mode and dead properties, and `from` is removed (its history
   * stays, as after rm). Needs read and write on `from`, write on `to`; `to` is replaced unless
   * `overwrite` is false.
   */
  async move(actor: Actor, request: MoveRequest): Promise<{ from: FileVersion; to: FileVersion }> {
    const { from, to, lease, toLease } = request
    if (from === to) throw new DfsError('DFS_BAD_REQUEST', `cannot move ${from} onto itself`)
    await this.access.require(actor, from, 'read')
    await this.access.require(actor, from, 'write')
    const perms = await this.access.forWrite(actor, to)
    const moved = await this.store.moveFile(
      {
        from,
        to,
        overwrite: request.overwrite ?? true,
        writer: actor.user,
        perms,
        ...(lease === undefined ? {} : { fromLease: leaseKey(lease) }),
        ...(toLease === undefined ? {} : { toLease: leaseKey(toLease) }),
      },
      this.clock.now(),
    )
    await this.changesHeard()
    await this.prune(moved.to)
    return moved
  }

  /**
   * Copies `from` to `to`: a new version of `to` naming the same blob, with `from`'s dead
   * properties; a new `to` gets the owner and mode a write would give it. Needs read on `from`,
   * write on `to`.
   */
  async copy(actor: Actor, request: CopyRequest): Promise<{ to: FileVersion }> {
    const { from, to, toLease } = request
    if (from === to) throw new DfsError('DFS_BAD_REQUEST', `cannot copy ${from} onto itself`)
    await this.access.require(actor, from, 'read')
    const perms = await this.access.forWrite(actor, to)
    const copied = await this.store.copyFile(
      {
        from,
        to,
        overwrite: request.overwrite ?? true,
        writer: actor.user,
        perms,
        ...(toLease === undefined ? {} : { toLease: leaseKey(toLease) }),
      },
      this.clock.now(),
    )
    await this.changesHeard()
    await this.prune(copied.to)
    return copied
  }

  /** The kept versions of a name, newest first; a removed name keeps its history until GC. */
  async history(actor: Actor, name: string): Promise<FileVersion[]> {
    await this.access.require(actor, name, 'read')
    const versions = await this.store.listVersions(name)
    if (versions.length === 0) throw new DfsError('DFS_NOT_FOUND', `no such file, and no history: ${name}`)
    return versions
  }

  /** Makes an old version current again, as a new version (the name may have been removed). */
  async restore(actor: Actor, name: string, version: number): Promise<FileVersion> {
    const perms: Perms = await this.access.forWrite(actor, name)
    const old = (await this.store.listVersions(name)).find((v) => v.version === version)
    if (!old) throw new DfsError('DFS_NOT_FOUND', `${name} has no version ${version} (see dfs log ${name})`)
    const [current, blocks] = await Promise.all([
      this.store.getFile(name),
      this.store.blockList(name, version),
    ])
    // Whatever copies of it survive: restoring is recovery, not a new write (repair tops it up).
    return this.record({
      name,
      expectedVersion: current?.version ?? 0,
      sha256: old.sha256,
      size: old.size,
      ...(blocks === undefined ? {} : { blocks }),
      primary: old.primary,
      holders: old.holders,
      writer: actor.user,
      perms,
    })
  }

  /**
   * Where the current version of `name` lives; with `blocks`, its block list too, if it has one (a
   * reader that checks each block asks for it; most callers need only the holders).
   */
  async locate(actor: Actor, name: string, options: { blocks?: boolean } = {}): Promise<Located> {
    await this.access.require(actor, name, 'read')
    const file = await this.store.getFile(name)
    if (!file) throw new DfsError('DFS_NOT_FOUND', `no such file: ${name}`)
    const [servers, lock, blocks] = await Promise.all([
      this.servers(),
      this.leases.state(name),
      options.blocks ? this.store.blockList(name, file.version) : undefined,
    ])
    return {
      ...file,
      ...(blocks === undefined ? {} : { blocks }),
      servers: servers.filter((s) => file.holders.includes(s.id)),
      ...(lock ? { lock } : {}),
    }
  }

  /**
   * The block list of the newest kept version of `name` with the bytes `sha256`: for a reader that
   * learnt the sha256 from the proxy it downloads through, and checks each block against the list.
   */
  async versionBlocks(actor: Actor, name: string, sha256: string): Promise<VersionBlocks> {
    await this.access.require(actor, name, 'read')
    const kept = (await this.store.listVersions(name)).find((v) => v.sha256 === sha256)
    if (!kept) throw new DfsError('DFS_NOT_FOUND', `${name} has no kept version with sha256 ${sha256}`)
    const blocks = await this.store.blockList(name, kept.version)
    return { name, sha256, size: kept.size, ...(blocks === undefined ? {} : { blocks }) }
  }

  /**
   * Up to `limit` names under `prefix` after `after` that `actor` may read, in name order, with the
   * cursor for the rest. One call scans a bounded number of names, so a user who may read few of
   * many gets short pages (with a cursor), never a long stall.
   */
  async list(
    actor: Actor,
    prefix: string,
    limit: number,
    after?: string,
    delimiter?: '/',
  ): Promise<ListPage> {
    if (delimiter !== undefined)
      return listChildren(
        { store: this.store, access: this.access, scan: LIST_SCAN },
        actor,
        prefix,
        limit,
        after,
      )
    const files: FileVersion[] = []
    let cursor = after
    for (let scanned = 0; scanned < LIST_SCAN;) {
      const want = Math.min(LIST_SCAN - scanned, 1000)
      const page = await this.store.listFiles(prefix, want, cursor)
      scanned += page.length
      for (const file of this.access.readable(actor, page)) {
        files.push(file)
        // Maybe the last name there is: the caller's next call is then empty.
        if (files.length === limit) return { files, next: file.name }
      }
      if (page.length < want) return { files }
      cursor = page.at(-1)?.name
    }
    return { files, ...(cursor === undefined ? {} : { next: cursor }) }
  }

  async remove(actor: Actor, name: string): Promise<FileVersion> {
    await this.access.require(actor, name, 'write')
    const removed = await this.store.removeFile(name, this.clock.now())
    await this.changesHeard()
    return removed
  }

  /**
   * Waits until every proxy holding a callback promise has heard of the changes made so far (at
   * most a promise's length), so that none serves what was there before once a writer is told done.
   * The writer's own proxy (`through`) is not waited for: the answer names the feed position it
   * must reach before it tells the writer (ProxyService.upload), which it does sooner than its
   * acknowledgement could come back here.
   */
  private async changesHeard(through?: number): Promise<number | undefined> {
    if (!this.callbacks.active()) return undefined
    const { last } = await this.store.changeBounds()
    await this.callbacks.settled(last, this.callbacks.epoch, through)
    return through === undefined ? undefined : last
  }

  /** Who may read what changed: a new epoch, which every proxy holding a promise must acknowledge. */
  private async whoMayReadChanged(): Promise<void> {
    const epoch = this.callbacks.newEpoch()
    await this.callbacks.settled(0, epoch)
  }

  /** Waits in line for the write lease on `name` (write permission needed, even to wait). */
  async acquire(
    actor: Actor,
    proxy: number,
    name: string,
    ttlMs: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<HeldLeaseView> {
    await this.access.forWrite(actor, name)
    return this.leases.acquire(name, { user: actor.user, proxy }, ttlMs, waitMs, signal)
  }

  renew(actor: Actor, proxy: number, name: string, key: string, ttlMs: number): Promise<Lease> {
    return this.leases.renew(name, key, { user: actor.user, proxy }, ttlMs)
  }

  release(actor: Actor, proxy: number, name: string, key: string): Promise<boolean> {
    return this.leases.release(name, key, { user: actor.user, proxy })
  }

  /** Records a holder that served bad bytes (repair and scrub act on these). */
  async report(report: Omit<BadCopyReport, 'at'>): Promise<void> {
    await this.store.addReport({ ...report, at: this.clock.now() }, REPORTS_KEPT)
    // A bad copy does not count: drop its server as holder, and repair copies a good one elsewhere.
    for (const version of await this.store.versionsWithBlob(report.server, report.sha256)) {
      const rest = version.holders.filter((id) => id !== report.server)
      if (rest.length > 0) await this.store.setHolders(version.name, version.version, rest)
    }
  }

  /**
   * Stops counting `server` as a holder of the versions `which` picks; repair then makes the copies
   * again. Returns how many it dropped.
   */
  async dropCopies(server: number, which: (version: FileVersion) => boolean): Promise<number> {
    let dropped = 0
    // Through the holders index a page at a time: the cost follows what the server holds.
    let after: { name: string; version: number } | undefined
    for (;;) {
      const page = await this.store.versionsHeldBy(server, after, 1000)
      for (const version of page) {
        if (!which(version)) continue
        await this.store.setHolders(
          version.name,
          version.version,
          version.holders.filter((id) => id !== server),
        )
        dropped++
      }
      const last = page.at(-1)
      if (page.length < 1000 || !last) return dropped
      after = { name: last.name, version: last.version }
    }
  }

  /** The servers, with the jobs of those that heartbeat to another directory as it saved them. */
  private async serversWithJobs(): Promise<ServerView[]> {
    return Promise.all(
      (await this.servers()).map(async (server) => {
        if (server.jobs) return server
        const saved = await this.store.getJobState(serverJobs(server.id)).catch(() => undefined)
        const jobs = saved === undefined ? {} : (JSON.parse(saved) as Record<string, JobState>)
        return Object.keys(jobs).length > 0 ? { ...server, jobs } : server
      }),
    )
  }

  async status(): Promise<DirectoryStatus> {
    // Counted now, so a version committed short of R shows at once, not after the next repair pass.
    await this.repairer?.count()
    const [servers, counts, reports, repair] = await Promise.all([
      this.serversWithJobs(),
      this.store.countFiles(),
      this.store.listReports(),
      this.repairer?.sharedStatus() ?? { underReplicated: 0, lost: 0, repaired: 0, failed: 0, lastPass: 0 },
    ])
    return {
      replicas: this.config.replicas,
      minCopies: this.config.minCopies,
      servers,
      ...counts,
      reports,
      repair,
    }
  }
}
