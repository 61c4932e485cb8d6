// The proxy's whole-file cache: blobs by sha256 in a DiskBlobStore, an index (sizes, last use, and the
// last version seen of each name) in SQLite, bounded in bytes with least recently used out first. It
// survives restarts and never hands out bytes that do not hash to their name: entries are verified
// when filled, and every read of one is verified block by block as it is served (block-reader.ts),
// so a corrupt entry is dropped the moment it is read, and the read goes on from a file server.

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { DatabaseSync } from 'node:sqlite'
import { DfsError } from '../../protocol/errors.ts'
import type { Clock } from '../../server/clock.ts'
import { DiskBlobStore } from '../../storage/disk-blob-store.ts'
import type { BlobWriter } from '../../storage/blob-store.ts'
import type { ByteRange } from '../../streams/block-check.ts'

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

export class BlobCache {
  readonly maxBytes: number
  private readonly blobs: DiskBlobStore
  private readonly db: DatabaseSync
  private readonly clock: Clock
  /** Entries being read right now: never evicted under a reader. */
  private readonly pinned = new Map<string, number>()
  /** Bytes promised to fills in progress, so cache plus temp files stay under the bound. */
  private reserved = 0
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
      (this.db.prepare('SELECT sha256 FROM entries').all() as { sha256: string }[]).map((r) => r.sha256),
    )
    for await (const sha256 of this.blobs.list()) {
      if (!indexed.delete(sha256)) await this.blobs.remove(sha256)
    }
    for (const missing of indexed) this.db.prepare('DELETE FROM entries WHERE sha256 = ?').run(missing)
  }

  stats(): CacheStats {
    const row = this.db
      .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM entries')
      .get() as {
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
    const row = this.db.prepare('SELECT size FROM entries WHERE sha256 = ?').get(sha256) as
      { size: number } | undefined
    if (!row) return false
    if ((await this.blobs.size(sha256)) === row.size) {
      this.db.prepare('UPDATE entries SET last_used = ? WHERE sha256 = ?').run(this.clock.now(), sha256)
      return true
    }
    await this.corrupt(sha256)
    return false
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
    this.pinned.set(sha256, (this.pinned.get(sha256) ?? 0) + 1)
    const stream =
      range === undefined
        ? this.blobs.read(sha256, size)
        : this.blobs.readRange(sha256, range.start, range.end - 1)
    stream.once('close', () => {
      const left = (this.pinned.get(sha256) ?? 1) - 1
      if (left > 0) this.pinned.set(sha256, left)
      else this.pinned.delete(sha256)
    })
    this.counters.bytesFromCache += range === undefined ? size : range.end - range.start
    return stream
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
      const added = this.db
        .prepare('INSERT OR IGNORE INTO entries (sha256, size, last_used) VALUES (?, ?, ?)')
        .run(sha256, size, now).changes
      if (added === 0) this.db.prepare('UPDATE entries SET last_used = ? WHERE sha256 = ?').run(now, sha256)
      else if (this.indexedBytes !== undefined) this.indexedBytes += size
    }
  }

  remember(file: KnownName): void {
    this.db
      .prepare(
        `INSERT INTO recalled_names (name, version, sha256, size, blocks, owner, grp, mode)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256, size = excluded.size,
         blocks = excluded.blocks, owner = excluded.owner, grp = excluded.grp, mode = excluded.mode`,
      )
      .run(
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

  /** The last version of `name` this proxy saw, for reads while the directory is unreachable. */
  recall(name: string): KnownName | undefined {
    const row = this.db.prepare('SELECT * FROM recalled_names WHERE name = ?').get(name) as
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
    this.db.exec('DELETE FROM recalled_names')
  }

  forget(name: string): void {
    this.db.prepare('DELETE FROM recalled_names WHERE name = ?').run(name)
  }

  close(): void {
    this.db.close()
  }

  /** Evicts least recently used, unpinned entries until `size` more bytes fit; false if they cannot. */
  private async makeRoom(size: number): Promise<boolean> {
    if (size > this.maxBytes) return false
    this.indexedBytes ??= (
      this.db.prepare('SELECT COALESCE(SUM(size), 0) AS bytes FROM entries').get() as { bytes: number }
    ).bytes
    let used = this.indexedBytes + this.reserved
    // The least recently used are read only when something has to go.
    if (used + size <= this.maxBytes) return true
    const rows = this.db.prepare('SELECT sha256, size FROM entries ORDER BY last_used ASC').all() as {
      sha256: string
      size: number
    }[]
    for (const row of rows) {
      if (used + size <= this.maxBytes) break
      if (this.pinned.has(row.sha256)) continue
      // The file goes before the space is counted free: the bound holds on disk, not just in the index.
      const gone = this.db.prepare('DELETE FROM entries WHERE sha256 = ?').run(row.sha256).changes
      if (gone === 1 && this.indexedBytes !== undefined) this.indexedBytes -= row.size
      await this.blobs.remove(row.sha256)
      this.counters.evictions++
      used -= row.size
    }
    return used + size <= this.maxBytes
  }

  private async drop(sha256: string): Promise<void> {
    this.db.prepare('DELETE FROM entries WHERE sha256 = ?').run(sha256)
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

  /** Keeps the blob if its bytes hash to `sha256`; DFS_CORRUPT (and nothing kept) otherwise. */
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
