// The disk BlobStore: objects/ab/<sha256>, written to tmp/, fsynced, renamed into place, and the
// directory fsynced, so a blob is either whole under its name or absent. Its block list (see
// protocol/blocks.ts) is hashed on the way in; it is kept by the directory, not here. A store made
// with `durable: false` (a cache whose every read is verified) skips both fsyncs.

import { createHash, randomBytes, type Hash } from 'node:crypto'
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  renameSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs'
import { mkdir, open, readdir, rename, rm, stat, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { once } from 'node:events'
import { BlockHasher } from '../protocol/blocks.ts'
import { DfsError } from '../protocol/errors.ts'
import { SHA256_HEX } from '../protocol/types.ts'
import type { OpenedFile } from '../streams/reused-buffers.ts'
import type { BlobStore, BlobWriter, StoredBlob, WriterHashing } from './blob-store.ts'

// Measured on these machines: default 16 KiB write buffers run at a quarter of the disk's speed.
const WRITE_BUFFER = 4 * 1024 * 1024
const READ_BUFFER = 1024 * 1024
/** A size hint that is wrong (too small) must not turn a read into thousands of tiny ones. */
const MIN_READ_BUFFER = 16 * 1024

export interface DiskBlobStoreOptions {
  /**
   * Whether a committed blob survives a power loss (default true): its file and the rename are
   * fsynced. Without, a crash of the machine may leave a blob short or garbled under its name, so only
   * a store that checks every blob before use may go without (an fsync is most of a small write).
   */
  durable?: boolean
}

/** Names the temp files of writeSmallSync apart within a process. */
let smallWrites = 0

export class DiskBlobStore implements BlobStore {
  readonly root: string
  readonly durable: boolean

  constructor(root: string, options: DiskBlobStoreOptions = {}) {
    this.root = root
    this.durable = options.durable ?? true
  }

  private get objects(): string {
    return join(this.root, 'objects')
  }

  private get tmp(): string {
    return join(this.root, 'tmp')
  }

  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new DfsError('DFS_BAD_REQUEST', 'not a sha256')
    return join(this.objects, sha256.slice(0, 2), sha256)
  }

  async open(): Promise<void> {
    await mkdir(this.objects, { recursive: true })
    // Anything in tmp/ was never committed: a crash interrupted it.
    await rm(this.tmp, { recursive: true, force: true })
    await mkdir(this.tmp, { recursive: true })
  }

  async createWriter(options: { hashing?: WriterHashing } = {}): Promise<BlobWriter> {
    const path = join(this.tmp, `${Date.now()}-${randomBytes(8).toString('hex')}`)
    const stream = createWriteStream(path, { flags: 'wx', highWaterMark: WRITE_BUFFER, flush: this.durable })
    await once(stream, 'open')
    return new DiskBlobWriter(this, path, stream, options.hashing ?? 'blocks')
  }

  /** Moves a finished temp file to its content address, durably. */
  async install(tmpPath: string, sha256: string): Promise<void> {
    const dir = join(this.objects, sha256.slice(0, 2))
    // The new file's bytes were hashed as they were written, so they are right by construction: it
    // replaces whatever is there (an identical blob, or one that rotted and is being repaired). Its
    // directory is made only when missing: one call to the disk fewer for every blob but the first.
    try {
      await rename(tmpPath, this.pathOf(sha256))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      await mkdir(dir, { recursive: true })
      // The new directory's own name must last too.
      if (this.durable) await fsyncDir(this.objects)
      await rename(tmpPath, this.pathOf(sha256))
    }
    if (this.durable) await fsyncDir(dir)
  }

  /**
   * Stores a small blob whose bytes are in hand, without the thread pool: four calls through it
   * (open, write, close, rename) cost a proxy more than the rest of caching an upload. Only for a
   * store that need not last (a cache): there is no fsync, and the event loop waits for the writes.
   */
  writeSmallSync(sha256: string, bytes: Buffer): void {
    if (this.durable) throw new DfsError('DFS_INTERNAL', 'a durable store writes through the thread pool')
    const path = this.pathOf(sha256)
    const tmp = join(this.tmp, `small-${process.pid}-${++smallWrites}`)
    writeFileSync(tmp, bytes, { flag: 'wx' })
    try {
      renameSync(tmp, path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      mkdirSync(join(this.objects, sha256.slice(0, 2)), { recursive: true })
      renameSync(tmp, path)
    }
  }

  /** Moves a blob whose bytes no longer match its name out of the store, keeping it for inspection. */
  async quarantine(sha256: string): Promise<void> {
    const dir = join(this.root, 'quarantine')
    await mkdir(dir, { recursive: true })
    await rename(this.pathOf(sha256), join(dir, `${sha256}.${Date.now()}`)).catch(() => undefined)
  }

  /** When a blob was written (for garbage collection's grace period). */
  async modified(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(sha256))).mtimeMs
    } catch {
      return undefined
    }
  }

  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(sha256))).size
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  read(sha256: string, size?: number): Readable {
    const highWaterMark =
      size === undefined ? READ_BUFFER : Math.max(MIN_READ_BUFFER, Math.min(size, READ_BUFFER))
    return createReadStream(this.pathOf(sha256), { highWaterMark })
  }

  async openRead(sha256: string): Promise<OpenedFile> {
    const handle = await open(this.pathOf(sha256), 'r')
    return {
      read: async (buffer, length, position) => (await handle.read(buffer, 0, length, position)).bytesRead,
      close: () => handle.close(),
    }
  }

  readRange(sha256: string, start: number, endInclusive: number): Readable {
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(endInclusive) ||
      start < 0 ||
      endInclusive < start
    )
      throw new DfsError('DFS_BAD_RANGE', `bytes ${start}-${endInclusive} is not a range`)
    const highWaterMark = Math.max(MIN_READ_BUFFER, Math.min(endInclusive - start + 1, READ_BUFFER))
    return createReadStream(this.pathOf(sha256), { start, end: endInclusive, highWaterMark })
  }

  /**
   * The prefix directories in order, each one's names sorted: in hash order overall, holding one
   * directory's names at a time. (readdir sorts them already, as libuv does; a listing that stops
   * doing so must not send a full inventory out of order.)
   */
  async *list(): AsyncIterable<string> {
    for (const prefix of (await readdir(this.objects)).sort()) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue
      for (const name of (await readdir(join(this.objects, prefix))).sort()) {
        if (SHA256_HEX.test(name) && name.startsWith(prefix)) yield name
      }
    }
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true })
  }

  async freeBytes(): Promise<number> {
    const fs = await statfs(this.root)
    return fs.bavail * fs.bsize
  }
}

class DiskBlobWriter implements BlobWriter {
  // The block list is hashed as the bytes go by, beside the whole file's hash: sha256 does not
  // compose, so neither can be had from the other, but neither needs the bytes read back.
  private readonly hash: Hash | undefined
  private readonly blocks: BlockHasher | undefined
  private done = false
  bytes = 0
  private readonly store: DiskBlobStore
  private readonly path: string
  private readonly stream: WriteStream

  constructor(store: DiskBlobStore, path: string, stream: WriteStream, hashing: WriterHashing) {
    this.store = store
    this.path = path
    this.stream = stream
    this.hash = hashing === 'none' ? undefined : createHash('sha256')
    this.blocks = hashing === 'blocks' ? new BlockHasher() : undefined
    // Errors reach callers through write() and commit(); a write still queued when abort() destroys
    // the stream must not become an uncaught exception that takes the server down.
    stream.on('error', () => undefined)
  }

  async write(chunk: Buffer): Promise<void> {
    this.take(chunk)
    if (!this.stream.write(chunk)) await waitDrain(this.stream)
  }

  async writeThrough(chunk: Buffer): Promise<void> {
    this.take(chunk)
    await new Promise<void>((resolve, reject) =>
      this.stream.write(chunk, (error) => (error ? reject(mapDiskError(error)) : resolve())),
    )
  }

  private take(chunk: Buffer): void {
    if (this.done) throw new DfsError('DFS_INTERNAL', 'write after the blob was closed')
    // A write error (ENOSPC) may have come between two calls, with nobody waiting: surface it now.
    if (this.stream.errored) throw mapDiskError(this.stream.errored)
    this.hash?.update(chunk)
    this.blocks?.update(chunk)
    this.bytes += chunk.length
  }

  async commit(known?: { sha256: string }): Promise<StoredBlob> {
    if (this.done) throw new DfsError('DFS_INTERNAL', 'blob committed twice')
    if (!this.hash && !known) throw new DfsError('DFS_INTERNAL', 'an unhashed blob needs its hash named')
    this.done = true
    // 'flush: true' (a durable store) makes the stream fsync the file before it closes.
    this.stream.end()
    await waitFinish(this.stream)
    const sha256 = this.hash ? this.hash.digest('hex') : known!.sha256
    if (known && sha256 !== known.sha256) {
      await rm(this.path, { force: true })
      throw new DfsError('DFS_CORRUPT', `bytes written do not match sha256 ${known.sha256}`)
    }
    const blocks = this.blocks?.list()
    await this.store.install(this.path, sha256)
    return { sha256, size: this.bytes, ...(blocks === undefined ? {} : { blocks }) }
  }

  async abort(): Promise<void> {
    this.done = true
    this.stream.destroy()
    await rm(this.path, { force: true })
  }
}

function waitDrain(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.errored) return reject(mapDiskError(stream.errored))
    if (stream.destroyed) return reject(new DfsError('DFS_INTERNAL', 'the blob file was closed'))
    const onError = (error: Error) => {
      stream.off('drain', onDrain)
      reject(mapDiskError(error))
    }
    const onDrain = () => {
      stream.off('error', onError)
      resolve()
    }
    stream.once('drain', onDrain)
    stream.once('error', onError)
  })
}

function waitFinish(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('close', () => (stream.errored ? reject(mapDiskError(stream.errored)) : resolve()))
    stream.once('error', () => undefined)
  })
}

export function mapDiskError(error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new DfsError('DFS_NO_SPACE', 'the file server is out of space')
  return error
}

/** Makes a rename inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
