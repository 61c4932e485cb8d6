// A file server's listing of its blobs, kept on disk in hash order (32 bytes a blob) rather than in
// memory: the next inventory tells what changed by reading it beside a new walk of the store, and a
// full inventory sends it in pages. Ten million blobs take 320 MB of disk here, and a few MB of
// memory. The listing the directory acknowledged is `listing`; a walk writes `listing.next`, which
// replaces it once the directory has taken the inventory. Neither need survive a restart: the first
// inventory after one is full.

import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

const HASH_BYTES = 32
/** Hashes read or written at a time. */
const CHUNK = 32 * 1024

/** What a walk of the store found. */
export interface Walk {
  /** How many blobs it listed. */
  held: number
  /** Blobs listed now and not in the acknowledged listing (when compared with it). */
  added: string[]
  /** Blobs of the acknowledged listing not listed now (when compared with it). */
  removed: string[]
  /** The blobs of `watch` it listed. */
  present: Set<string>
}

export class Listings {
  private readonly dir: string

  constructor(dir: string) {
    this.dir = dir
  }

  private get current(): string {
    return join(this.dir, 'listing')
  }

  private get next(): string {
    return join(this.dir, 'listing.next')
  }

  /** Whether there is an acknowledged listing to compare a walk with. */
  async hasCurrent(): Promise<boolean> {
    return (await stat(this.current).catch(() => undefined))?.isFile() ?? false
  }

  /**
   * Writes `blobs` (in increasing order, as a BlobStore lists them) as the next listing, compared on
   * the way with the acknowledged one if `compare`; notes which of `watch` it saw.
   */
  async walk(blobs: AsyncIterable<string>, compare: boolean, watch: Set<string>): Promise<Walk> {
    await mkdir(this.dir, { recursive: true })
    const walk: Walk = { held: 0, added: [], removed: [], present: new Set() }
    const before = compare ? await ListingReader.open(this.current) : undefined
    try {
      const out = await open(this.next, 'w')
      try {
        const writer = new HashWriter(out)
        let previous = ''
        for await (const sha256 of blobs) {
          if (sha256 <= previous) throw new Error(`the blob store listed ${sha256} after ${previous}`)
          previous = sha256
          if (before) {
            // An await only when a chunk must be read: per hash, the walk's cost is the store's.
            while (before.head !== undefined && before.head < sha256) {
              walk.removed.push(before.head)
              const reading = before.advance()
              if (reading) await reading
            }
            if (before.head !== sha256) walk.added.push(sha256)
            else {
              const reading = before.advance()
              if (reading) await reading
            }
          }
          if (watch.has(sha256)) walk.present.add(sha256)
          const writing = writer.add(sha256)
          if (writing) await writing
          walk.held++
        }
        while (before?.head !== undefined) {
          walk.removed.push(before.head)
          await before.advance()
        }
        await writer.flush()
      } finally {
        await out.close()
      }
    } finally {
      await before?.close()
    }
    return walk
  }

  /**
   * The next listing in pages of `size` blobs, each with whether it is the last; a listing of no
   * blobs is one empty last page.
   */
  async *pages(size: number): AsyncGenerator<{ blobs: string[]; last: boolean }> {
    const reader = await ListingReader.open(this.next)
    try {
      let blobs: string[] = []
      let pages = 0
      while (reader.head !== undefined) {
        blobs.push(reader.head)
        const reading = reader.advance()
        if (reading) await reading
        // The next hash read tells whether this page is the last.
        if (blobs.length === size || reader.head === undefined) {
          yield { blobs, last: reader.head === undefined }
          blobs = []
          pages++
        }
      }
      if (pages === 0) yield { blobs, last: true }
    } finally {
      await reader.close()
    }
  }

  /** The next listing becomes the acknowledged one: the directory has taken its inventory. */
  async keep(): Promise<void> {
    await rename(this.next, this.current)
  }
}

/** Hashes written 32 bytes each, a chunk at a time. */
class HashWriter {
  private readonly file: FileHandle
  private readonly buffer = Buffer.alloc(CHUNK * HASH_BYTES)
  private used = 0

  constructor(file: FileHandle) {
    this.file = file
  }

  /** Adds a hash; a promise to wait for only when a chunk is full and being written. */
  add(sha256: string): Promise<void> | undefined {
    this.buffer.write(sha256, this.used, HASH_BYTES, 'hex')
    this.used += HASH_BYTES
    return this.used === this.buffer.length ? this.flush() : undefined
  }

  async flush(): Promise<void> {
    let at = 0
    while (at < this.used) at += (await this.file.write(this.buffer, at, this.used - at)).bytesWritten
    this.used = 0
  }
}

/** The hashes of a listing in order, a chunk read at a time: `head` is the next, undefined at the end. */
class ListingReader {
  head: string | undefined
  private readonly file: FileHandle
  private readonly buffer = Buffer.alloc(CHUNK * HASH_BYTES)
  /** Where `head` is in the buffer, and where the bytes read end. */
  private at = 0
  private end = 0

  private constructor(file: FileHandle) {
    this.file = file
  }

  static async open(path: string): Promise<ListingReader> {
    const reader = new ListingReader(await open(path, 'r'))
    await reader.read()
    return reader
  }

  /** Moves `head` on; a promise to wait for only when the next chunk must be read. */
  advance(): Promise<void> | undefined {
    this.at += HASH_BYTES
    if (this.at + HASH_BYTES > this.end) return this.read()
    this.head = this.buffer.toString('hex', this.at, this.at + HASH_BYTES)
    return undefined
  }

  async close(): Promise<void> {
    await this.file.close()
  }

  /** The next chunk, after what is left of this one (a read may end mid-hash). */
  private async read(): Promise<void> {
    const kept = this.end - this.at
    this.buffer.copy(this.buffer, 0, this.at, this.end)
    this.at = 0
    this.end = kept
    while (this.end < HASH_BYTES) {
      const { bytesRead } = await this.file.read(this.buffer, this.end, this.buffer.length - this.end)
      if (bytesRead === 0) break
      this.end += bytesRead
    }
    this.head = this.end >= HASH_BYTES ? this.buffer.toString('hex', 0, HASH_BYTES) : undefined
  }
}
