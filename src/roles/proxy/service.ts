// The proxy: the user-facing side of the cluster. It checks sessions, asks the directory where a file
// goes or lives, streams uploads to the primary (keeping a copy in its cache), and serves reads from
// its cache when the directory confirms the cached hash is current, else from a replica first (the
// seed's rule), failing over to the other holders and reporting any that sent bad bytes.

import { createHash } from 'node:crypto'
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream'
import type { Agent } from 'undici'
import type { DirectoryClient, SessionCheck, UserDirectoryClient } from '../../client/directory-client.ts'
import { isConnectFailure } from '../../client/http.ts'
import { getStream, putStream } from '../../client/streams.ts'
import { DfsError } from '../../protocol/errors.ts'
import { EVERYONE, allowed, type Actor } from '../../protocol/permissions.ts'
import type {
  ChangeEvent,
  CommittedVersion,
  FileVersion,
  Located,
  Placement,
  ServerView,
} from '../../protocol/types.ts'
import type { Clock, Random } from '../../server/clock.ts'
import { boundedMemory, memoryGuard } from '../../streams/bounded-memory.ts'
import { exactLength } from '../../streams/declared-length.ts'
import { hashing } from '../../streams/hash.ts'
import { lend } from '../../streams/lend.ts'
import type { BlobCache, CacheFill } from './blob-cache.ts'

const SESSION_CACHE_MS = 5_000
/** Placements tried for one upload when primaries cannot be connected to. */
const PLACEMENT_TRIES = 3

export interface Download {
  /** The version served; for an offline read, what this proxy last knew of it. */
  file: Pick<FileVersion, 'name' | 'version' | 'sha256' | 'size'>
  body: Readable
  /** 'cache', or the id of the file server the bytes came from. */
  from: 'cache' | number
  /** Served from the cache without the directory's word that it is current. */
  stale: boolean
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
  agent: Agent
  cache: BlobCache
  clock: Clock
  random: Random
}

export class ProxyService {
  readonly id: number
  readonly directory: DirectoryClient
  readonly cache: BlobCache
  private readonly agent: Agent
  private readonly clock: Clock
  private readonly random: Random
  private readonly sessions = new Map<string, { actor: Actor; checked: number; expires: number }>()
  /** Fills in progress by hash, so concurrent readers of one blob fetch it once. */
  private readonly fetching = new Map<string, Promise<void>>()
  reports = 0
  private readonly listeners = new Set<(event: ChangeEvent) => void>()

  constructor(deps: ProxyDeps) {
    this.id = deps.id
    this.directory = deps.directory
    this.agent = deps.agent
    this.cache = deps.cache
    this.clock = deps.clock
    this.random = deps.random
  }

  /**
   * A change from the directory's stream: what this proxy knew of the name is stale (the blob stays,
   * keyed by its hash, until evicted), and `dfs watch` clients hear of it.
   */
  changed(event: ChangeEvent): void {
    this.cache.forget(event.name)
    for (const listener of this.listeners) listener(event)
  }

  /**
   * Changes may have been missed (the feed could not resume): what the cache knows of names may be
   * stale, so it forgets them (the blobs stay, found again by hash); offline reads wait for the
   * next online read of each name.
   */
  resynced(): void {
    this.cache.forgetAll()
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
    // The seed keeps what a user uploads in their cache: copy the bytes there as they pass.
    const fill = options.length === undefined ? undefined : await this.cache.begin(options.length)
    // pipeline, not .pipe(): a client that hangs up, or sends more or fewer bytes than it said, must
    // abort the upload to the primary (which then drops its temp file and its replicas'), not leave
    // it waiting for bytes forever or commit what came.
    // Hashed as they pass, to know our own write if its answer is lost (landed, below).
    const sent = hashing()
    const source = pipeline(
      body,
      exactLength(options.length),
      boundedMemory(),
      sent.stream,
      teeInto(fill),
      () => undefined,
    )
    let version: CommittedVersion
    try {
      version = await this.sendToPrimary(caller, name, source, options, () => sent.result)
    } catch (error) {
      source.destroy()
      await fill?.abort()
      // A body the client got wrong (too short or long, gone quiet) is the answer, whatever the
      // primary said of the write abandoned for it.
      throw source.errored instanceof DfsError ? source.errored : error
    }
    // The write is committed; a cache copy that failed to keep is only a later miss.
    await fill?.finish(version.sha256).catch(() => undefined)
    this.cache.remember(version)
    return version
  }

  private async sendToPrimary(
    caller: Caller,
    name: string,
    source: Readable,
    options: UploadOptions,
    sent: () => { sha256: string; size: number } | undefined,
  ): Promise<CommittedVersion> {
    const avoid: number[] = []
    for (let attempt = 1; ; attempt++) {
      const placement = await caller.directory.place(name, options.length ?? 0, {
        lease: options.lease,
        create: options.create,
        ...(avoid.length > 0 ? { avoid } : {}),
      })
      const loan = lend(source)
      try {
        return await putStream<CommittedVersion>(
          this.agent,
          `${placement.primary.url}/v1/blobs?${primaryQuery(caller, placement, options)}`,
          loan.body,
          options.length === undefined ? {} : { 'content-length': String(options.length) },
          `file server ${placement.primary.id}`,
        )
      } catch (error) {
        const whole = sent()
        if (whole && mayHaveLanded(error)) {
          const landed = await this.landed(caller, placement, whole)
          if (landed) return landed
        }
        if (loan.taken > 0 || attempt >= PLACEMENT_TRIES || !isConnectFailure(error)) throw error
        avoid.push(placement.primary.id)
        await this.directory
          .unreachable(placement.primary.id, (error as Error).message)
          .catch(() => undefined)
      }
    }
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
   * Opens a file for reading. The directory names the current version; a verified cached copy of it
   * is served without touching a file server. With `offline`, an unreachable directory is not fatal:
   * the last version this proxy saw is served from the cache, marked stale.
   */
  async download(caller: Caller, name: string, options: { offline?: boolean } = {}): Promise<Download> {
    let file: Located
    try {
      file = await caller.directory.locate(name)
    } catch (error) {
      if (options.offline && error instanceof DfsError && error.code === 'DFS_UNAVAILABLE') {
        return this.offlineRead(caller, name, error)
      }
      throw error
    }
    this.cache.remember(file)
    if (await this.cache.has(file.sha256)) {
      this.cache.hit()
      return { file, body: this.cache.read(file.sha256, file.size), from: 'cache', stale: false }
    }
    const order = this.readOrder(file)
    if (file.size <= this.cache.maxBytes) {
      await this.fetchOnce(file, order)
      if (await this.cache.has(file.sha256)) {
        return { file, body: this.cache.read(file.sha256, file.size), from: 'cache', stale: false }
      }
    }
    // Too big for the cache (or evicted at once): pass it through, verified, cut if bad.
    return this.streamThrough(file, order)
  }

  private async offlineRead(caller: Caller, name: string, cause: DfsError): Promise<Download> {
    const known = this.cache.recall(name)
    // Without the directory, the owner and mode it last gave decide; unknown ones refuse.
    const readable =
      known?.owner !== undefined &&
      allowed(caller, { owner: known.owner, group: known.group ?? EVERYONE, mode: known.mode ?? 0 }, 'read')
    if (!known || !readable || !(await this.cache.has(known.sha256))) {
      throw new DfsError('DFS_UNAVAILABLE', `${cause.message}; and no cached copy of ${name}`)
    }
    this.cache.hit()
    return { file: known, body: this.cache.read(known.sha256, known.size), from: 'cache', stale: true }
  }

  /** Replicas before the primary (the seed's rule), shuffled to spread reads; live servers first. */
  private readOrder(file: Located): ServerView[] {
    const keyed = file.servers.map((server) => ({
      server,
      key: (server.live ? 0 : 4) + (server.id === file.primary ? 2 : 0) + this.random.next(),
    }))
    return keyed.sort((a, b) => a.key - b.key).map((k) => k.server)
  }

  private fetchOnce(file: Located, order: ServerView[]): Promise<void> {
    let pending = this.fetching.get(file.sha256)
    if (!pending) {
      pending = this.fetchIntoCache(file, order).finally(() => this.fetching.delete(file.sha256))
      this.fetching.set(file.sha256, pending)
    }
    return pending
  }

  /** Tries each holder in turn until one's bytes hash right; reports the ones that sent bad bytes. */
  private async fetchIntoCache(file: Located, order: ServerView[]): Promise<void> {
    await this.fromFirstHolder(file, order, async (server, body) => {
      await this.cache.fill(file.sha256, file.size, body)
    })
  }

  private streamThrough(file: Located, order: ServerView[]): Promise<Download> {
    return this.fromFirstHolder(file, order, async (server, body) => {
      const check = verifying(
        file.sha256,
        file.size,
        server.id,
        () => void this.report(server.id, file.sha256),
      )
      return { file, body: pipeline(body, check, () => undefined), from: server.id, stale: false }
    })
  }

  /**
   * Opens the blob on each holder in `order` until `use` succeeds with one; a holder whose bytes did
   * not match is reported. Throws the last failure if none does.
   */
  private async fromFirstHolder<T>(
    file: Located,
    order: ServerView[],
    use: (server: ServerView, body: Readable) => Promise<T>,
  ): Promise<T> {
    let lastError: unknown = new DfsError('DFS_UNAVAILABLE', `no live server holds ${file.name}`)
    for (const server of order) {
      try {
        const url = `${server.url}/v1/blobs/${file.sha256}`
        const response = await getStream(this.agent, url, {}, `file server ${server.id}`)
        return await use(server, response.body)
      } catch (error) {
        lastError = error
        if (error instanceof DfsError && error.code === 'DFS_CORRUPT')
          await this.report(server.id, file.sha256)
      }
    }
    throw lastError
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

/** Passes bytes through and fails the stream at the end if they are not the bytes the directory named. */
export function verifying(sha256: string, size: number, source: number, onBad?: () => void): Transform {
  const hash = createHash('sha256')
  const guard = memoryGuard()
  let seen = 0
  const bad = (message: string) => {
    onBad?.()
    return new DfsError('DFS_CORRUPT', message)
  }
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk)
      seen += chunk.length
      guard(chunk.length)
      if (seen > size) return callback(bad(`file server ${source} sent too many bytes`))
      callback(null, chunk)
    },
    flush(callback: TransformCallback) {
      const actual = hash.digest('hex')
      if (seen !== size || actual !== sha256) {
        return callback(bad(`file server ${source} sent bytes that do not match sha256 ${sha256}`))
      }
      callback()
    },
  })
}
