// The proxy: the user-facing side of the cluster. It checks sessions, asks the directory where a file
// goes or lives, streams uploads to the primary (keeping a copy in its cache), and serves reads from
// its cache when the directory confirms the cached hash is current, else from a replica first (the
// seed's rule), verifying every block and failing over to the other holders (block-reader.ts), and
// reporting any that sent bad bytes.

import { createHash } from 'node:crypto'
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream'
import type { NodeAgent } from '../../client/agent.ts'
import type { DirectoryClient, SessionCheck, UserDirectoryClient } from '../../client/directory-client.ts'
import { isConnectFailure } from '../../client/network-failure.ts'
import { getStream, putStream } from '../../client/streams.ts'
import { blockDigests, hasBlockList } from '../../protocol/blocks.ts'
import { requestedRange } from '../../protocol/byte-range.ts'
import { DfsError } from '../../protocol/errors.ts'
import { EVERYONE, allowed, type Actor } from '../../protocol/permissions.ts'
import type {
  ChangeEvent,
  CommittedVersion,
  FileVersion,
  Located,
  VersionBlocks,
  Placement,
  ServerView,
} from '../../protocol/types.ts'
import type { Clock, Random } from '../../server/clock.ts'
import type { ByteRange } from '../../streams/block-check.ts'
import { boundedMemory } from '../../streams/bounded-memory.ts'
import { counting } from '../../streams/counting.ts'
import { exactLength } from '../../streams/declared-length.ts'
import { hashing } from '../../streams/hash.ts'
import { lend } from '../../streams/lend.ts'
import type { Logger } from '../../server/logger.ts'
import { SMALL_READ_MAX, type BlobCache, type CacheFill, type KnownName } from './blob-cache.ts'
import { CallbackPromise } from './callback-promise.ts'
import { PlacementPool, POOLED_MAX_BYTES } from './placement-pool.ts'
import { TrustedNames, type TrustedServer } from './trusted-names.ts'
import {
  openVerified,
  type BlockCopy,
  type BlockSource,
  type OpenedRead,
  type VerifiedRead,
} from './block-reader.ts'

const SESSION_CACHE_MS = 5_000
/** How long an upload waits for its own change on the feed (a promise's length: see heard()). */
const HEARD_MS = 2_000
/** Placements tried for one upload when primaries cannot be connected to. */
const PLACEMENT_TRIES = 3

export interface Download {
  /** The version served; for an offline read, what this proxy last knew of it. */
  file: Pick<FileVersion, 'name' | 'version' | 'sha256' | 'size'> & { mtime?: number }
  body: Readable
  /** 'cache', or the id of the file server the bytes came from. */
  from: 'cache' | number
  /** Served from the cache without the directory's word that it is current. */
  stale: boolean
  /** The bytes of the file the body holds, when a Range asked for part of it. */
  range?: ByteRange
  /** A small whole file from the cache, already checked: the body's bytes, to send at once. */
  bytes?: Buffer
  /** Writes the body's bytes to a sink without making garbage per chunk (see OpenedRead.send). */
  send?: OpenedRead['send']
}

export interface DownloadOptions {
  offline?: boolean
  /** The request's Range header: one range of bytes (protocol/byte-range.ts). */
  range?: string
}

/** A user whose bearer token the directory accepted, and the directory's API on their behalf. */
export interface Caller extends Actor {
  token: string
  directory: UserDirectoryClient
  /** Where they connected from (for the directory's audit log). */
  client?: string
}

export interface ProxyDeps {
  id: number
  directory: DirectoryClient
  agent: NodeAgent
  cache: BlobCache
  clock: Clock
  random: Random
  log?: Pick<Logger, 'warn'>
}

export class ProxyService {
  readonly id: number
  readonly directory: DirectoryClient
  readonly cache: BlobCache
  private readonly agent: NodeAgent
  private readonly clock: Clock
  private readonly random: Random
  private readonly sessions = new Map<string, { actor: Actor; checked: number; expires: number }>()
  /** Blobs a cold read is copying into the cache: one copy at a time, other readers stream past. */
  private readonly filling = new Set<string>()
  reports = 0
  /** Bytes of files received from clients (API and WebDAV uploads), counted as they arrive. */
  bytesUploaded = 0
  /** Reads answered from the cache without asking the directory (the callback promise held). */
  trustedReads = 0
  private readonly listeners = new Set<(event: ChangeEvent) => void>()
  /** What is known to be current while the directory's callback promise holds. */
  private readonly trusted = new TrustedNames()
  readonly promise: CallbackPromise
  /** Placements for new small files, fetched ahead (placement-pool.ts). */
  private readonly placements: PlacementPool

  constructor(deps: ProxyDeps) {
    this.id = deps.id
    this.directory = deps.directory
    this.agent = deps.agent
    this.cache = deps.cache
    this.clock = deps.clock
    this.random = deps.random
    this.placements = new PlacementPool({
      clock: deps.clock,
      fetch: (size, count) => this.directory.placements(size, count),
    })
    this.promise = new CallbackPromise({
      clock: deps.clock,
      ack: (seq, epoch) => this.directory.ackChanges(seq, epoch),
      forgetTrusted: () => {
        // Who may read what changed: trusted names, and the sessions that trusted reads rely on.
        this.trusted.forgetAll()
        this.sessions.clear()
      },
      log: deps.log ?? { warn: () => undefined },
    })
  }

  /**
   * A change from the directory's stream: what this proxy knew of the name is stale (the blob stays,
   * keyed by its hash, until evicted), and `dfs watch` clients hear of it. Once forgotten, the
   * change is acknowledged (the directory's writer may then be told it is done).
   */
  changed(event: ChangeEvent): void {
    this.trusted.changed(event.name, event.type === 'put' ? event.version : -1)
    this.cache.forget(event.name)
    if (event.seq !== undefined) this.promise.applied(event.seq)
    for (const listener of this.listeners) listener(event)
  }

  /**
   * Changes may have been missed (the feed could not resume, or its link broke): what the cache
   * knows of names may be stale, so it forgets them (the blobs stay, found again by hash); offline
   * reads wait for the next online read of each name.
   */
  resynced(): void {
    this.trusted.forgetAll()
    this.cache.forgetAll()
  }

  /** The feed broke: nothing is trusted until it is back (what it replays may change anything). */
  feedLost(): void {
    this.promise.disconnect()
    this.trusted.forgetAll()
  }

  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Who a bearer token is. Cached for a few seconds, for the few routes that do not call the
   * directory; every call that does sends the token, and the directory checks it again there. With
   * `fresh`, the directory is asked now. While the directory cannot be reached, a session this proxy
   * already knew holds until its end (offline reads of cached files need it). `client`, the user's
   * address, goes with each call to the directory, for its audit log.
   */
  async authenticate(token: string, options: { fresh?: boolean; client?: string } = {}): Promise<Caller> {
    const now = this.clock.now()
    const directory = this.directory.forUser(token, options.client)
    const from = options.client === undefined ? {} : { client: options.client }
    const cached = this.sessions.get(token)
    const known = cached && now < cached.expires ? cached : undefined
    if (known && !options.fresh && now - known.checked < SESSION_CACHE_MS)
      return { ...known.actor, token, directory, ...from }
    let checked: SessionCheck
    try {
      checked = await this.directory.checkSession(token)
    } catch (error) {
      if (known && error instanceof DfsError && error.code === 'DFS_UNAVAILABLE')
        return { ...known.actor, token, directory, ...from }
      this.sessions.delete(token)
      throw error
    }
    const { user, admin, groups, expires } = checked
    if (this.sessions.size > 10_000) this.sessions.clear()
    const actor = { user, admin, groups }
    this.sessions.set(token, { actor, checked: now, expires })
    return { ...actor, token, directory, ...from }
  }

  /** Forgets a session at once (logout, password change). */
  forget(token: string): void {
    this.sessions.delete(token)
  }

  /**
   * Stores a new version of `name`. A primary that cannot be connected to (refused, or timed out
   * connecting) has taken no byte: the directory is told, and a new placement without it is asked
   * for, a few times at most. A failure once bytes have moved fails the write; nothing is committed.
   */
  async upload(
    caller: Caller,
    name: string,
    body: Readable,
    options: UploadOptions,
  ): Promise<CommittedVersion> {
    // The seed keeps what a user uploads in their cache: copy the bytes there as they pass, or for a
    // small file keep them, to be written at once when the write is committed.
    const small =
      options.length !== undefined && options.length <= SMALL_READ_MAX ? ([] as Buffer[]) : undefined
    const fill = options.length === undefined || small ? undefined : await this.cache.begin(options.length)
    // pipeline, not .pipe(): a client that hangs up, or sends more or fewer bytes than it said, must
    // abort the upload to the primary (which then drops its temp file and its replicas'), not leave
    // it waiting for bytes forever or commit what came.
    // Hashed as they pass, to know our own write if its answer is lost (landed, below).
    const sent = hashing()
    const source = pipeline(
      body,
      counting((bytes) => (this.bytesUploaded += bytes)),
      exactLength(options.length),
      boundedMemory(),
      sent.stream,
      small ? keepInto(small) : teeInto(fill),
      () => undefined,
    )
    let version: CommittedVersion
    let servers: ServerView[]
    const asked = this.trusted.asking()
    try {
      ;({ version, servers } = await this.sendToPrimary(caller, name, source, options, () => sent.result))
    } catch (error) {
      source.destroy()
      await fill?.abort()
      // A body the client got wrong (too short or long, gone quiet) is the answer, whatever the
      // primary said of the write abandoned for it.
      throw source.errored instanceof DfsError ? source.errored : error
    }
    // The write is committed; a cache copy that failed to keep is only a later miss.
    // The cache's copy is kept under the committed hash only if it is what this proxy sent (the fill
    // does not hash its bytes again).
    if (sent.result?.sha256 !== version.sha256) await fill?.abort()
    else if (small) await this.cache.putSmall(version.sha256, Buffer.concat(small))
    else await fill?.finish(version.sha256).catch(() => undefined)
    // The directory did not wait for this proxy to acknowledge the change (the primary named it in
    // the commit): its feed must have brought it before the writer is told done, so that no read
    // here serves what was there before. The feed's event goes out before the commit's answer,
    // which takes a hop more to come, so this rarely waits.
    if (version.heard !== undefined) await this.heard(version.heard)
    const { heard: _heard, ...committed } = version
    version = committed
    this.cache.remember(version)
    this.learn({ ...version, servers: servers.filter((s) => version.holders.includes(s.id)) }, asked)
    return version
  }

  /**
   * Waits until the feed has applied change `seq`, or is down (then nothing is trusted until it is
   * back). A feed stalled past a promise's length is not waited for longer: what this proxy trusts
   * is forgotten instead, as if the feed were lost.
   */
  private async heard(seq: number): Promise<void> {
    if (await this.promise.reached(seq, HEARD_MS)) return
    this.trusted.forgetAll()
  }

  private async sendToPrimary(
    caller: Caller,
    name: string,
    source: Readable,
    options: UploadOptions,
    sent: () => { sha256: string; size: number } | undefined,
  ): Promise<{ version: CommittedVersion; servers: ServerView[] }> {
    const avoid: number[] = []
    for (let attempt = 1; ; attempt++) {
      const pooled = attempt === 1 ? this.pooledPlacement(caller, name, options) : undefined
      const placement =
        pooled ??
        (await caller.directory.place(name, options.length ?? 0, {
          lease: options.lease,
          create: options.create,
          ...(avoid.length > 0 ? { avoid } : {}),
        }))
      const loan = lend(source)
      const servers = [placement.primary, ...placement.replicas]
      try {
        const version = await putStream<CommittedVersion>(
          this.agent,
          `${placement.primary.url}/v1/blobs?${primaryQuery(caller, placement, options)}`,
          loan.body,
          options.length === undefined ? {} : { 'content-length': String(options.length) },
          `file server ${placement.primary.id}`,
        )
        return { version, servers }
      } catch (error) {
        const whole = sent()
        if (whole && mayHaveLanded(error)) {
          const landed = await this.landed(caller, placement, whole)
          if (landed) {
            // Its commit may not have waited for this proxy's feed, and where the feed stands
            // against it is unknown: nothing trusted so far can be vouched for (heard()).
            this.trusted.forgetAll()
            return { version: landed, servers }
          }
        }
        // A pooled placement skipped place()'s look at the name: the commit found it taken.
        if (pooled && error instanceof DfsError && error.code === 'DFS_CONFLICT')
          throw new DfsError('DFS_EXISTS', `${name} already exists (use --force to replace it)`)
        if (loan.taken > 0 || attempt >= PLACEMENT_TRIES || !isConnectFailure(error)) throw error
        avoid.push(placement.primary.id)
        this.placements.avoid(placement.primary.id)
        await this.directory
          .unreachable(placement.primary.id, (error as Error).message)
          .catch(() => undefined)
      }
    }
  }

  /**
   * A placement from the pool for a new small file, when place() would only have chosen servers: no
   * lease, a known length, and a name this proxy does not know to exist. Only while the callback
   * promise holds, since the directory then sees no call with the user's session before the commit
   * (which names the writer): this proxy's sessions are current exactly while it holds.
   */
  private pooledPlacement(caller: Caller, name: string, options: UploadOptions): Placement | undefined {
    if (options.lease !== undefined || options.create || options.length === undefined) return undefined
    if (options.length > POOLED_MAX_BYTES || !this.promise.holds() || this.trusted.get(name)) return undefined
    const pooled = this.placements.take()
    return pooled && { name, expectedVersion: 0, ...pooled }
  }

  /**
   * Our write, if it is the name's current version: a write whose answer was lost, or refused as a
   * conflict, may have landed all the same. The primary's commit may have been sent again, to the
   * same directory or another, after a connection that broke with it delivered; the second is
   * refused (DFS_CONFLICT: the version moved on) and never applied twice. It is ours if it is the
   * version this write made: the next after the placement's, by this writer, of these very bytes.
   * (A second write of the same bytes by the same user from the same version, racing this one, would
   * count too: the name holds exactly what this write would have made.)
   */
  private async landed(
    caller: Caller,
    placement: Placement,
    sent: { sha256: string; size: number },
  ): Promise<CommittedVersion | undefined> {
    let current: Located
    try {
      current = await caller.directory.locate(placement.name)
    } catch {
      // The write's own failure is the answer.
      return undefined
    }
    const ours =
      current.version === placement.expectedVersion + 1 &&
      current.writer === caller.user &&
      current.sha256 === sent.sha256 &&
      current.size === sent.size
    if (!ours) return undefined
    const { servers: _servers, lock: _lock, ...version } = current
    return { ...version, wanted: placement.wanted }
  }

  /**
   * Opens a file for reading, or the bytes of it in `range`. The directory names the current version
   * and its block list; the bytes come from the cache if it has them, else from a replica first (the
   * seed's rule), every block verified as it passes, with a bad or missing block fetched again from
   * the next holder. A cold whole read fills the cache as it streams. With `offline`, an unreachable
   * directory is not fatal: the last version this proxy saw is served from the cache, marked stale.
   */
  async download(caller: Caller, name: string, options: DownloadOptions = {}): Promise<Download> {
    const trusted = await this.trustedRead(caller, name, options.range)
    if (trusted) return trusted
    let file: Located
    const asked = this.trusted.asking()
    try {
      file = await caller.directory.locate(name, { blocks: true })
    } catch (error) {
      if (options.offline && error instanceof DfsError && error.code === 'DFS_UNAVAILABLE') {
        return this.offlineRead(caller, name, error, options.range)
      }
      throw error
    }
    this.cache.remember(file)
    this.learn(file, asked)
    const small = options.range === undefined ? this.smallFromCache(file) : undefined
    if (small) return small
    const range = requestedRange(options.range, file.size)
    const cached = await this.cache.has(file.sha256)
    const sources = this.readOrder(file).map((server) => this.serverSource(file, server))
    if (cached) sources.unshift(this.cacheSource(file))
    const copy = cached || range ? undefined : await this.cacheCopy(file)
    const opened = await openVerified(this.verifiedRead(file, range, copy), sources)
    if (opened.from === 'cache') this.cache.hit()
    return { file, ...opened, stale: false, ...(range ? { range } : {}) }
  }

  /**
   * A read answered from the cache without asking the directory: while its callback promise holds,
   * the version this proxy knows of is current, and who may read it is as the directory last said
   * (any change to that starts a new epoch, which makes it forget). Undefined when it cannot be.
   */
  private async trustedRead(
    caller: Caller,
    name: string,
    rangeHeader: string | undefined,
  ): Promise<Download | undefined> {
    if (!this.promise.holds()) return undefined
    const known = this.trusted.get(name)
    if (!known || !allowed(caller, known, 'read')) return undefined
    const small = rangeHeader === undefined ? this.smallFromCache(known) : undefined
    if (small) {
      this.trustedReads++
      return small
    }
    if (!(await this.cache.has(known.sha256))) return undefined
    const range = requestedRange(rangeHeader, known.size)
    const sources = [
      this.cacheSource(known),
      ...this.readOrder(known).map((server) => this.serverSource(known, server)),
    ]
    let opened: OpenedRead
    try {
      opened = await openVerified(this.verifiedRead(known, range, undefined), sources)
    } catch {
      // Nothing could be opened: the directory knows better.
      return undefined
    }
    this.trustedReads++
    if (opened.from === 'cache') this.cache.hit()
    return { file: known, ...opened, stale: false, ...(range ? { range } : {}) }
  }

  /** A small file whole from the cache, its bytes checked against its hash (a bad copy is dropped). */
  private smallFromCache(file: Download['file']): Download | undefined {
    const bytes = this.cache.readSmall(file.sha256, file.size)
    if (!bytes) return undefined
    if (createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
      void this.cache.corrupt(file.sha256)
      return undefined
    }
    this.cache.hit()
    return { file, body: Readable.from([bytes]), from: 'cache', stale: false, bytes }
  }

  /**
   * The current version of NAME: what this proxy knows while its callback promise holds (and the
   * caller may read it), else the directory's word.
   */
  async current(caller: Caller, name: string): Promise<Pick<FileVersion, 'version' | 'sha256'>> {
    const known = this.promise.holds() ? this.trusted.get(name) : undefined
    if (known && allowed(caller, known, 'read')) return known
    const asked = this.trusted.asking()
    const located = await caller.directory.locate(name, { blocks: true })
    this.learn(located, asked)
    return located
  }

  /** Remembers what the directory said of a name, asked for at `asked`, as current (see TrustedNames). */
  private learn(
    file: Omit<FileVersion, 'holders' | 'writer' | 'mtime'> & { servers: ServerView[] },
    asked: number,
  ): void {
    if (file.owner === undefined || file.group === undefined || file.mode === undefined) return
    // Small files are where a round trip to the directory is most of a read; a large one's list
    // would cost more to keep than its read saves.
    if (hasBlockList(file.size)) return
    const { name, version, sha256, size, owner, group, mode, servers, primary } = file
    this.trusted.learn({ name, version, sha256, size, owner, group, mode, servers, primary }, asked)
  }

  /**
   * The block list of NAME's kept version with bytes `sha256`, for a client that checks each block.
   * With the directory unreachable, what this proxy last knew of the name serves (an offline read).
   */
  async blockList(caller: Caller, name: string, sha256: string): Promise<VersionBlocks> {
    try {
      return await caller.directory.blocks(name, sha256)
    } catch (error) {
      const known = this.cache.recall(name)
      const offline = error instanceof DfsError && error.code === 'DFS_UNAVAILABLE'
      if (!offline || known?.sha256 !== sha256 || !this.readableOffline(caller, known)) throw error
      const { size, blocks } = known
      return { name, sha256, size, ...(blocks ? { blocks } : {}) }
    }
  }

  /** Without the directory, the owner and mode it last gave decide; unknown ones refuse. */
  private readableOffline(caller: Caller, known: KnownName): boolean {
    return (
      known.owner !== undefined &&
      allowed(caller, { owner: known.owner, group: known.group ?? EVERYONE, mode: known.mode ?? 0 }, 'read')
    )
  }

  private async offlineRead(
    caller: Caller,
    name: string,
    cause: DfsError,
    rangeHeader: string | undefined,
  ): Promise<Download> {
    const known = this.cache.recall(name)
    if (!known || !this.readableOffline(caller, known) || !(await this.cache.has(known.sha256))) {
      throw new DfsError('DFS_UNAVAILABLE', `${cause.message}; and no cached copy of ${name}`)
    }
    const range = requestedRange(rangeHeader, known.size)
    const read = this.verifiedRead({ ...known, name }, range, undefined)
    const opened = await openVerified(read, [this.cacheSource(known)])
    this.cache.hit()
    return { file: known, ...opened, from: 'cache', stale: true, ...(range ? { range } : {}) }
  }

  private verifiedRead(
    file: { name: string; sha256: string; size: number; blocks?: string },
    range: ByteRange | undefined,
    copy: BlockCopy | undefined,
  ): VerifiedRead {
    // A version written before block lists were kept is checked whole.
    const digests = hasBlockList(file.size) && file.blocks === undefined ? undefined : blockDigests(file)
    return {
      name: file.name,
      sha256: file.sha256,
      size: file.size,
      digests,
      range: range ?? { start: 0, end: file.size },
      ...(copy ? { copy } : {}),
    }
  }

  private cacheSource(file: { sha256: string; size: number }): BlockSource {
    return {
      from: 'cache',
      open: async (range) =>
        range.start === 0 && range.end === file.size
          ? this.cache.read(file.sha256, file.size)
          : this.cache.read(file.sha256, file.size, range),
      openFile: (range) => this.cache.openFile(file.sha256, range),
      bad: () => void this.cache.corrupt(file.sha256),
    }
  }

  private serverSource(file: { sha256: string; size: number }, server: TrustedServer): BlockSource {
    return {
      from: server.id,
      open: async (range) => {
        const headers: Record<string, string> =
          range.start === 0 && range.end === file.size
            ? {}
            : { range: `bytes=${range.start}-${range.end - 1}` }
        const url = `${server.url}/v1/blobs/${file.sha256}`
        return (await getStream(this.agent, url, headers, `file server ${server.id}`)).body
      },
      bad: () => void this.report(server.id, file.sha256),
    }
  }

  /**
   * Where a cold whole read copies its verified bytes: a new cache entry, unless the file cannot fit
   * or another read of the same blob is filling it already.
   */
  private async cacheCopy(file: Located): Promise<BlockCopy | undefined> {
    if (file.size > this.cache.maxBytes || this.filling.has(file.sha256)) return undefined
    this.filling.add(file.sha256)
    let fill: CacheFill | undefined
    try {
      fill = await this.cache.begin(file.size)
    } finally {
      if (!fill) this.filling.delete(file.sha256)
    }
    if (!fill) return undefined
    const done = () => this.filling.delete(file.sha256)
    return {
      write: (chunk) => fill.write(chunk),
      writeThrough: (chunk) => fill.writeThrough(chunk),
      finish: async () => {
        try {
          await fill.finish(file.sha256)
          this.cache.fetched(file.size)
        } finally {
          done()
        }
      },
      abort: async () => {
        try {
          await fill.abort()
        } finally {
          done()
        }
      },
    }
  }

  /** Replicas before the primary (the seed's rule), shuffled to spread reads; live servers first. */
  private readOrder<S extends TrustedServer>(file: { servers: S[]; primary: number }): S[] {
    const keyed = file.servers.map((server) => ({
      server,
      key: (server.live ? 0 : 4) + (server.id === file.primary ? 2 : 0) + this.random.next(),
    }))
    return keyed.sort((a, b) => a.key - b.key).map((k) => k.server)
  }

  private async report(server: number, sha256: string): Promise<void> {
    this.reports++
    try {
      await this.directory.report(server, sha256, `proxy ${this.id} received bytes that do not match`)
    } catch {
      // The read goes on from another holder either way; the scrubber finds the bad copy too.
    }
  }
}

export interface UploadOptions {
  length?: number
  /** The write lease (`<token>.<secret>`) to write under. */
  lease?: string
  create?: boolean
}

/**
 * A primary's failure after it took every byte that may hide a commit that landed: a conflict (a
 * commit sent again after its first answer was lost) or an unreachable node (the primary's answer, or
 * its directory's, lost on the way).
 */
function mayHaveLanded(error: unknown): boolean {
  if (error instanceof DfsError) return error.code === 'DFS_CONFLICT' || error.code === 'DFS_UNAVAILABLE'
  return true
}

/** What the primary needs to know of a write besides its bytes. */
function primaryQuery(caller: Caller, placement: Placement, options: UploadOptions): URLSearchParams {
  const query = new URLSearchParams({
    name: placement.name,
    expectedVersion: String(placement.expectedVersion),
    writer: caller.user,
    replicas: JSON.stringify(placement.replicas.map((r) => ({ id: r.id, url: r.url }))),
  })
  if (options.length !== undefined) query.set('length', String(options.length))
  if (options.lease !== undefined) query.set('lease', options.lease)
  if (caller.client !== undefined) query.set('client', caller.client)
  return query
}

/** Keeps every chunk that passes in `parts` (a small file's, at most SMALL_READ_MAX bytes). */
function keepInto(parts: Buffer[]): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      parts.push(chunk)
      callback(null, chunk)
    },
  })
}

/** Copies every chunk into a cache fill as it passes (at the pace of the slower of the two). */
function teeInto(fill: CacheFill | undefined): Transform {
  let broken = false
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (!fill || broken) return callback(null, chunk)
      fill.write(chunk).then(
        () => callback(null, chunk),
        // A cache that cannot write must not fail the upload: stop copying, finish() will refuse.
        () => {
          broken = true
          callback(null, chunk)
        },
      )
    },
  })
}
