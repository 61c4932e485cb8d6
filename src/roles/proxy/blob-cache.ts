// The proxy's whole-file cache: blobs by sha256 in a DiskBlobStore, an index (sizes, last use, and the
// last version seen of each name) in SQLite, bounded in bytes with least recently used out first. It
// survives restarts and never hands out bytes that do not hash to their name: entries are verified
// when filled, and every read of one is verified block by block as it is served (block-reader.ts),
// so a corrupt entry is dropped the moment it is read, and the read goes on from a file server.

import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { DfsError } from '../../protocol/errors.ts'
import type { Clock } from '../../server/clock.ts'
import { DiskBlobStore } from '../../storage/disk-blob-store.ts'
import type { BlobWriter } from '../../storage/blob-store.ts'
import type { ByteRange } from '../../streams/block-check.ts'
import type { OpenedFile } from '../../streams/reused-buffers.ts'

export interface CacheStats {
  hits: number
  misses: number
  bytesFromCache: number
  bytesFetched: number
  evictions: number
  corrupt: number
  entries: number
  bytes: number
  maxBytes: number
}

export interface KnownName {
  name: string
  version: number
  sha256: string
  size: number
  /** Its block list (protocol/blocks.ts), so an offline read is verified block by block too. */
  blocks?: string
  /** Owner, group and mode as the directory last said (offline reads are checked against them). */
  owner?: string
  group?: string
  mode?: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, last_used INTEGER NOT NULL);
DROP TABLE IF EXISTS names;
DROP TABLE IF EXISTS known_names;
CREATE TABLE IF NOT EXISTS recalled_names (name TEXT PRIMARY KEY, version INTEGER NOT NULL, sha256 TEXT NOT NULL,
  size INTEGER NOT NULL, blocks TEXT, owner TEXT, grp TEXT, mode INTEGER);
`

/** The largest blob read whole, at once, when served from the cache (see readSmall). */
export const SMALL_READ_MAX = 64 * 1024

/** How long index writes wait to be written together (see BlobCache.touched). */
const FLUSH_MS = 1000

export class BlobCache {
  readonly maxBytes: number
  private readonly blobs: DiskBlobStore
  private readonly db: DatabaseSync
  private readonly clock: Clock
  /** Entries being read right now: never evicted under a reader. */
  private readonly pinned = new Map<string, number>()
  /** Bytes promised to fills in progress, so cache plus temp files stay under the bound. */
  private reserved = 0
  private readonly statements = new Map<string, StatementSync>()
  /**
   * Index writes a read or a write makes, kept here and written together at most a second later
   * (flushIndex): the last use of entries, and the names seen (undefined: forgotten). One SQLite
   * transaction each, as they were, cost a small cached read more than serving it. A crash may lose
   * that second of them, which the index may lose anyway (synchronous = NORMAL, see below).
   */
  private readonly touched = new Map<string, number>()
  private readonly seen = new Map<string, KnownName | undefined>()
  private flushTimer: NodeJS.Timeout | undefined
  /**
   * The bytes of every indexed entry, counted once and then kept up to date by the writes that add
   * and evict entries (undefined: count again), so making room for an upload does not sum the whole
   * index each time.
   */
  private indexedBytes: number | undefined
  private readonly counters = {
    hits: 0,
    misses: 0,
    bytesFromCache: 0,
    bytesFetched: 0,
    evictions: 0,
    corrupt: 0,
  }

  constructor(root: string, maxBytes: number, clock: Clock) {
    this.maxBytes = maxBytes
    this.clock = clock
    // Not fsynced: every read of an entry is verified block by block as it is served, and a corrupt
    // one is dropped and the read goes on from a file server, so a blob a power loss left short or
    // garbled is a miss, never bad bytes (the index, synchronous = NORMAL, may lose its last entries
    // the same way). An upload's copy kept here is a convenience for later reads, not one of the
    // copies the commit counts, and its two fsyncs were a large part of the proxy's cost of a small
    // upload.
    this.blobs = new DiskBlobStore(join(root, 'blobs'), { durable: false })
    mkdirSync(root, { recursive: true })
    this.db = new DatabaseSync(join(root, 'index.sqlite'))
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;')
    this.db.exec(SCHEMA)
  }

  /** Prepares the store and makes the index and the files on disk agree. */
  async open(): Promise<void> {
    await this.blobs.open()
    const indexed = new Set(
      (this.sql('SELECT sha256 FROM entries').all() as { sha256: string }[]).map((r) => r.sha256),
    )
    for await (const sha256 of this.blobs.list()) {
      if (!indexed.delete(sha256)) await this.blobs.remove(sha256)
    }
    for (const missing of indexed) this.sql('DELETE FROM entries WHERE sha256 = ?').run(missing)
  }

  stats(): CacheStats {
    const row = this.sql('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM entries').get() as {
      n: number
      bytes: number
    }
    return { ...this.counters, entries: row.n, bytes: row.bytes, maxBytes: this.maxBytes }
  }

  /**
   * True if a whole copy is cached (indexed, and its file of the right size). Its bytes are checked as
   * they are read, not here: a hit reads the blob once.
   */
  async has(sha256: string): Promise<boolean> {
    const row = this.sql('SELECT size FROM entries WHERE sha256 = ?').get(sha256) as
      { size: number } | undefined
    if (!row) return false
    if ((await this.blobs.size(sha256)) === row.size) {
      this.touch(sha256)
      return true
    }
    await this.corrupt(sha256)
    return false
  }

  /**
   * The bytes of a cached blob of at most SMALL_READ_MAX, read at once, or undefined if there is no
   * whole copy. Read without the thread pool: four calls through it (stat, open, read, close) cost a
   * cached small read more than all the rest of serving it, as nginx's blocking reads of small files
   * do not; a blob this small that is not in the page cache holds the event loop for one disk read.
   * The caller checks the bytes against their hash.
   */
  readSmall(sha256: string, size: number): Buffer | undefined {
    if (size > SMALL_READ_MAX) return undefined
    let bytes: Buffer
    try {
      bytes = readFileSync(this.blobs.pathOf(sha256))
    } catch {
      return undefined
    }
    if (bytes.length !== size) return undefined
    this.touch(sha256)
    this.counters.bytesFromCache += size
    return bytes
  }

  /** A cached blob was found not to match its hash: it is dropped. */
  async corrupt(sha256: string): Promise<void> {
    this.counters.corrupt++
    await this.drop(sha256)
  }

  /**
   * Streams a cached blob, or the bytes of it in `range` (check has() first); it cannot be evicted
   * until the stream closes.
   */
  read(sha256: string, size: number, range?: ByteRange): Readable {
    this.pin(sha256)
    const stream =
      range === undefined
        ? this.blobs.read(sha256, size)
        : this.blobs.readRange(sha256, range.start, range.end - 1)
    stream.once('close', () => this.unpin(sha256))
    this.counters.bytesFromCache += range === undefined ? size : range.end - range.start
    return stream
  }

  /**
   * Opens a cached blob to read the bytes of `range` into the reader's own buffers (block-reader.ts
   * sends a cache hit so); it cannot be evicted until closed.
   */
  async openFile(sha256: string, range: ByteRange): Promise<OpenedFile> {
    const file = await this.blobs.openRead(sha256)
    this.pin(sha256)
    this.counters.bytesFromCache += range.end - range.start
    let isOpen = true
    return {
      read: (buffer, length, position) => file.read(buffer, length, position),
      close: async () => {
        if (!isOpen) return
        isOpen = false
        this.unpin(sha256)
        await file.close()
      },
    }
  }

  private pin(sha256: string): void {
    this.pinned.set(sha256, (this.pinned.get(sha256) ?? 0) + 1)
  }

  private unpin(sha256: string): void {
    const left = (this.pinned.get(sha256) ?? 1) - 1
    if (left > 0) this.pinned.set(sha256, left)
    else this.pinned.delete(sha256)
  }

  /** Counts a read answered from the cache without fetching. */
  hit(): void {
    this.counters.hits++
  }

  /**
   * Starts caching a blob of `size` bytes: makes room first (least recently used out), or returns
   * undefined when it cannot fit without evicting blobs in use.
   */
  async begin(size: number): Promise<CacheFill | undefined> {
    if (!(await this.makeRoom(size))) return undefined
    this.reserved += size
    let writer: BlobWriter
    try {
      // What a fill writes was checked on its way in (an upload's hash, a read's blocks): no hashing here.
      writer = await this.blobs.createWriter({ hashing: 'none' })
    } catch (error) {
      this.reserved -= size
      throw error
    }
    return new CacheFill(this, writer, size)
  }

  /**
   * Caches a small blob whose bytes are in hand and checked against `sha256` (an upload's), written
   * without the thread pool (as readSmall reads). Nothing is cached if it cannot fit or be written.
   */
  async putSmall(sha256: string, bytes: Buffer): Promise<void> {
    if (bytes.length > SMALL_READ_MAX || !(await this.makeRoom(bytes.length))) return
    this.reserved += bytes.length
    try {
      this.blobs.writeSmallSync(sha256, bytes)
    } catch {
      // A cache that cannot write only misses later.
      return this.settle(bytes.length)
    }
    this.settle(bytes.length, sha256)
  }

  /** Counts a blob fetched from a file server into the cache. */
  fetched(size: number): void {
    this.counters.misses++
    this.counters.bytesFetched += size
  }

  /** Called by CacheFill once its bytes are durable under their hash. */
  settle(size: number, sha256?: string): void {
    this.reserved -= size
    if (sha256) {
      const now = this.clock.now()
      const added = this.sql('INSERT OR IGNORE INTO entries (sha256, size, last_used) VALUES (?, ?, ?)').run(
        sha256,
        size,
        now,
      ).changes
      if (added === 0) this.touch(sha256)
      else if (this.indexedBytes !== undefined) this.indexedBytes += size
    }
  }

  remember(file: KnownName): void {
    this.seen.set(file.name, file)
    this.flushSoon()
  }

  /** The last version of `name` this proxy saw, for reads while the directory is unreachable. */
  recall(name: string): KnownName | undefined {
    if (this.seen.has(name)) return this.seen.get(name)
    const row = this.sql('SELECT * FROM recalled_names WHERE name = ?').get(name) as
      | (Omit<KnownName, 'blocks' | 'owner' | 'group' | 'mode'> & {
          blocks: string | null
          owner: string | null
          grp: string | null
          mode: number | null
        })
      | undefined
    if (!row) return undefined
    const { name: known, version, sha256, size, blocks, owner, grp, mode } = row
    return {
      name: known,
      version,
      sha256,
      size,
      ...(blocks !== null ? { blocks } : {}),
      ...(owner !== null && grp !== null && mode !== null ? { owner, group: grp, mode } : {}),
    }
  }

  /** A change notification: what we knew of `name` is no longer current. */
  forgetAll(): void {
    this.seen.clear()
    this.db.exec('DELETE FROM recalled_names')
  }

  forget(name: string): void {
    this.seen.set(name, undefined)
    this.flushSoon()
  }

  close(): void {
    clearTimeout(this.flushTimer)
    this.flushIndex()
    this.db.close()
  }

  private sql(text: string): StatementSync {
    let statement = this.statements.get(text)
    if (!statement) {
      statement = this.db.prepare(text)
      this.statements.set(text, statement)
    }
    return statement
  }

  private touch(sha256: string): void {
    this.touched.set(sha256, this.clock.now())
    this.flushSoon()
  }

  private flushSoon(): void {
    this.flushTimer ??= setTimeout(() => {
      try {
        this.flushIndex()
      } catch {
        // The index is a cache: a lost write is at worst an entry evicted early or a name forgotten.
      }
    }, FLUSH_MS).unref()
  }

  /** Writes the index writes kept since the last flush, in one transaction. */
  private flushIndex(): void {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    if (this.touched.size === 0 && this.seen.size === 0) return
    this.db.exec('BEGIN')
    try {
      const used = this.sql('UPDATE entries SET last_used = ? WHERE sha256 = ?')
      for (const [sha256, at] of this.touched) used.run(at, sha256)
      const upsert = this.sql(
        `INSERT INTO recalled_names (name, version, sha256, size, blocks, owner, grp, mode)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256, size = excluded.size,
         blocks = excluded.blocks, owner = excluded.owner, grp = excluded.grp, mode = excluded.mode`,
      )
      const forget = this.sql('DELETE FROM recalled_names WHERE name = ?')
      for (const [name, file] of this.seen) {
        if (file === undefined) forget.run(name)
        else
          upsert.run(
            file.name,
            file.version,
            file.sha256,
            file.size,
            file.blocks ?? null,
            file.owner ?? null,
            file.group ?? null,
            file.mode ?? null,
          )
      }
      this.db.exec('COMMIT')
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      throw error
    } finally {
      this.touched.clear()
      this.seen.clear()
    }
  }

  /** Evicts least recently used, unpinned entries until `size` more bytes fit; false if they cannot. */
  private async makeRoom(size: number): Promise<boolean> {
    if (size > this.maxBytes) return false
    this.indexedBytes ??= (
      this.sql('SELECT COALESCE(SUM(size), 0) AS bytes FROM entries').get() as { bytes: number }
    ).bytes
    let used = this.indexedBytes + this.reserved
    // The least recently used are read only when something has to go.
    if (used + size <= this.maxBytes) return true
    this.flushIndex()
    const rows = this.sql('SELECT sha256, size FROM entries ORDER BY last_used ASC').all() as {
      sha256: string
      size: number
    }[]
    for (const row of rows) {
      if (used + size <= this.maxBytes) break
      if (this.pinned.has(row.sha256)) continue
      // The file goes before the space is counted free: the bound holds on disk, not just in the index.
      const gone = this.sql('DELETE FROM entries WHERE sha256 = ?').run(row.sha256).changes
      if (gone === 1 && this.indexedBytes !== undefined) this.indexedBytes -= row.size
      await this.blobs.remove(row.sha256)
      this.counters.evictions++
      used -= row.size
    }
    return used + size <= this.maxBytes
  }

  private async drop(sha256: string): Promise<void> {
    this.sql('DELETE FROM entries WHERE sha256 = ?').run(sha256)
    this.indexedBytes = undefined
    await this.blobs.remove(sha256)
  }
}

/** One blob being written into the cache; its room is reserved until it finishes or aborts. */
export class CacheFill {
  private readonly cache: BlobCache
  private readonly writer: BlobWriter
  private readonly size: number
  private settled = false

  constructor(cache: BlobCache, writer: BlobWriter, size: number) {
    this.cache = cache
    this.writer = writer
    this.size = size
  }

  get bytes(): number {
    return this.writer.bytes
  }

  write(chunk: Buffer): Promise<void> {
    return this.writer.write(chunk)
  }

  /** Resolves once the bytes are written out: their memory may then be filled again. */
  writeThrough(chunk: Buffer): Promise<void> {
    return this.writer.writeThrough(chunk)
  }

  /**
   * Keeps the blob under `sha256`, which the caller has checked its bytes against (the fill does not
   * hash them again); DFS_CORRUPT (and nothing kept) if it is not the size it promised.
   */
  async finish(sha256: string): Promise<void> {
    if (this.writer.bytes !== this.size) {
      await this.abort()
      throw new DfsError('DFS_CORRUPT', `${this.writer.bytes} bytes received of ${this.size} for ${sha256}`)
    }
    this.settled = true
    try {
      await this.writer.commit({ sha256 })
    } catch (error) {
      this.cache.settle(this.size)
      throw error
    }
    this.cache.settle(this.size, sha256)
  }

  async abort(): Promise<void> {
    if (this.settled) return
    this.settled = true
    await this.writer.abort()
    this.cache.settle(this.size)
  }
}
