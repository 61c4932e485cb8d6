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
    const before = (compare ? read(this.current) : nothing())[Symbol.asyncIterator]()
    const out = await open(this.next, 'w')
    try {
      const writer = new HashWriter(out)
      let old = await before.next()
      let previous = ''
      for await (const sha256 of blobs) {
        if (sha256 <= previous) throw new Error(`the blob store listed ${sha256} after ${previous}`)
        previous = sha256
        for (; !old.done && old.value < sha256; old = await before.next()) walk.removed.push(old.value)
        if (!old.done && old.value === sha256) old = await before.next()
        else if (compare) walk.added.push(sha256)
        if (watch.has(sha256)) walk.present.add(sha256)
        await writer.add(sha256)
        walk.held++
      }
      for (; !old.done; old = await before.next()) walk.removed.push(old.value)
      await writer.flush()
    } finally {
      await out.close()
      await before.return(undefined)
    }
    return walk
  }

  /**
   * The next listing in pages of `size` blobs, each with whether it is the last; a listing of no
   * blobs is one empty last page.
   */
  async *pages(size: number): AsyncGenerator<{ blobs: string[]; last: boolean }> {
    const count = (await stat(this.next)).size / HASH_BYTES
    let sent = 0
    let blobs: string[] = []
    for await (const sha256 of read(this.next)) {
      blobs.push(sha256)
      sent++
      if (blobs.length === size || sent === count) {
        yield { blobs, last: sent === count }
        blobs = []
      }
    }
    if (count === 0) yield { blobs: [], last: true }
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

  async add(sha256: string): Promise<void> {
    this.buffer.write(sha256, this.used, HASH_BYTES, 'hex')
    this.used += HASH_BYTES
    if (this.used === this.buffer.length) await this.flush()
  }

  async flush(): Promise<void> {
    let at = 0
    while (at < this.used) at += (await this.file.write(this.buffer, at, this.used - at)).bytesWritten
    this.used = 0
  }
}

/** A listing of nothing, to compare a first walk with. */
async function* nothing(): AsyncGenerator<string> {}

/** The hashes of a listing, in its order, a chunk read at a time. */
async function* read(path: string): AsyncGenerator<string> {
  const file = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(CHUNK * HASH_BYTES)
    let kept = 0
    for (;;) {
      const { bytesRead } = await file.read(buffer, kept, buffer.length - kept)
      if (bytesRead === 0) break
      const end = kept + bytesRead
      const whole = end - (end % HASH_BYTES)
      for (let at = 0; at < whole; at += HASH_BYTES) yield buffer.toString('hex', at, at + HASH_BYTES)
      // A read may end mid-hash: its start waits at the front for the rest.
      buffer.copy(buffer, 0, whole, end)
      kept = end - whole
    }
  } finally {
    await file.close()
  }
}
