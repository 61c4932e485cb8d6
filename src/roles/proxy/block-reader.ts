// Reading one version's bytes, verified block by block, from an ordered list of sources (the cache,
// then the file servers that hold it). A block that does not match its digest never goes on: its
// source is reported and the rest of the read comes from the next source, from that block's start,
// with a Range request, so the client sees nothing but a pause. Versions written before block lists
// were kept are checked whole, at the end, as before: a bad one is cut short.

import { createHash } from 'node:crypto'
import { Readable, type Writable } from 'node:stream'
import { blockSpan } from '../../protocol/blocks.ts'
import { DfsError } from '../../protocol/errors.ts'
import { memoryGuard } from '../../streams/bounded-memory.ts'
import { BadBlock, BlockReceiver, handOnCause, HandOnFailed, partIn } from '../../streams/checked-writer.ts'
import { sendThrough, writeOut, type OpenedFile } from '../../streams/reused-buffers.ts'
import {
  alignedRange,
  blockMatches,
  BlockGatherer,
  blocksOf,
  within,
  type ByteRange,
} from '../../streams/block-check.ts'

export interface BlockSource {
  /** 'cache', or the id of a file server. */
  from: 'cache' | number
  /** Opens the bytes in [range.start, range.end). */
  open(range: ByteRange): Promise<Readable>
  /** The bytes as a file to read into buffers of the reader's own (the cache's), for `range`. */
  openFile?(range: ByteRange): Promise<OpenedFile>
  /** It sent bytes that do not match. */
  bad(): void
}

/** A read opened: its verified bytes, where they start from, and a faster way to send them. */
export interface OpenedRead {
  body: Readable
  from: 'cache' | number
  /**
   * Writes the verified bytes to `sink` and resolves once all are written; rejects if the read or
   * the sink fails (the sink is then left to the caller). Given for a read from a file source: its
   * blocks are read into two buffers used again and again, each written only once the write before
   * it is done, so a cache hit makes no garbage per chunk (see streams/bounded-memory.ts for what
   * that garbage costs). Use either this or `body`, not both.
   */
  send?(sink: Writable): Promise<void>
}

/** Where verified bytes of a whole-file read are also copied (a cold read filling the cache). */
export interface BlockCopy {
  /** Resolves when the copy can take more (the chunk may still be queued). */
  write(chunk: Buffer): Promise<void>
  /** Resolves once the copy is done with the chunk's memory (it may be filled again). */
  writeThrough(chunk: Buffer): Promise<void>
  finish(): Promise<void>
  abort(): Promise<void>
}

export interface VerifiedRead {
  name: string
  sha256: string
  size: number
  /** One digest per block; undefined for a version with no list (checked whole). */
  digests: Buffer[] | undefined
  range: ByteRange
  copy?: BlockCopy
}

/**
 * Opens the read on the first source that answers (so a file no source has fails before any byte
 * is promised) and returns the verified bytes, and which source they start from.
 */
export async function openVerified(read: VerifiedRead, sources: BlockSource[]): Promise<OpenedRead> {
  const empty = read.range.end <= read.range.start
  const span = empty
    ? read.range
    : read.digests
      ? alignedRange(read.range, read.size)
      : { start: 0, end: read.size }
  const cursor = new SourceCursor(read, sources)
  if (!empty && read.digests && !read.copy) {
    const opened = await openFileRead(read, read.digests, cursor, span)
    if (opened) return opened
  }
  const first = empty ? undefined : await cursor.openNext(span)
  const from = cursor.current?.from ?? sources[0]?.from ?? 'cache'
  if (!first) {
    await read.copy?.finish().catch(() => undefined)
    return { body: Readable.from([]), from }
  }
  const digests = read.digests
  const blocks = digests ? byBlock(read, digests, cursor, first, span) : whole(read, cursor, first)
  let taken = false
  async function* streamed(): AsyncGenerator<Buffer> {
    taken = true
    yield* blocks
  }
  const body = Readable.from(streamed(), { objectMode: false, highWaterMark: 1024 * 1024 })
  body.once('close', () => {
    if (taken) return
    // Never read (a HEAD): the source's connection and the cache's room go back.
    first.destroy()
    void read.copy?.abort().catch(() => undefined)
  })
  if (!digests) return { body, from }
  return {
    body,
    from,
    send: async (sink) => {
      taken = true
      body.destroy()
      await receiveBlocks(read, digests, cursor, first, span, sink)
    },
  }
}

/**
 * The read from the first source as a file (see OpenedRead.send), or undefined when it is not one
 * or cannot be opened (the cursor has then moved past it). `body`, for a caller that reads the
 * bytes as a stream instead, reads the same file through byBlock.
 */
async function openFileRead(
  read: VerifiedRead,
  digests: Buffer[],
  cursor: SourceCursor,
  span: ByteRange,
): Promise<OpenedRead | undefined> {
  const file = await cursor.openFirstFile(span)
  if (!file) return undefined
  let taken = false
  async function* streamed(): AsyncGenerator<Buffer> {
    taken = true
    yield* byBlock(read, digests, cursor, fileStream(file!, span), span)
  }
  const body = Readable.from(streamed(), { objectMode: false, highWaterMark: 1024 * 1024 })
  body.once('close', () => {
    // Read only: a close that fails loses nothing.
    if (!taken) file.close().catch(() => undefined)
  })
  return {
    body,
    from: cursor.current!.from,
    send: async (sink) => {
      taken = true
      body.destroy()
      await sendBlocks(read, digests, cursor, file, span, sink)
    },
  }
}

/** The bytes of `span` of a file, as a stream (in fresh buffers); closes the file when done. */
function fileStream(file: OpenedFile, span: ByteRange): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for (let at = span.start; at < span.end;) {
        const chunk = Buffer.allocUnsafe(Math.min(READ_PIECE, span.end - at))
        const got = await file.read(chunk, chunk.length, at)
        if (got === 0) return
        yield got === chunk.length ? chunk : chunk.subarray(0, got)
        at += got
      }
    } finally {
      await file.close()
    }
  }
  return Readable.from(chunks(), { objectMode: false })
}

/** How much of a block one read of a file source asks for: each piece is hashed as it comes. */
const READ_PIECE = 1024 * 1024

/**
 * Sends the blocks of `span` from `file` to `sink`, verified, through two buffers of a block each
 * (streams/reused-buffers.ts): while one block is being written, the next is read and checked. A
 * block that does not match, or that cannot be read, is the cursor's to report; the rest then comes
 * through byBlock from the next source, as any read's would.
 */
async function sendBlocks(
  read: VerifiedRead,
  digests: Buffer[],
  cursor: SourceCursor,
  file: OpenedFile,
  span: ByteRange,
  sink: Writable,
): Promise<void> {
  const { first, last } = blocksOf(span)
  let resumeAt: number | undefined
  try {
    await sendThrough(
      span.end - span.start,
      last - first + 1,
      async (buffer, turn) => {
        const index = first + turn
        const block = blockSpan(index, read.size)
        const bytes = await readBlock(file, buffer, block, digests[index]).catch((error: unknown) => {
          cursor.failed(error)
          return undefined
        })
        if (bytes === 'bad') cursor.bad(index)
        if (bytes === undefined || bytes === 'bad') {
          resumeAt = index
          return undefined
        }
        return partIn(bytes, block, read.range)
      },
      sink,
    )
  } finally {
    await file.close().catch(() => undefined)
  }
  if (resumeAt === undefined) return
  // The rest from the next source.
  const rest = { start: blockSpan(resumeAt, read.size).start, end: span.end }
  await receiveBlocks(read, digests, cursor, await cursor.openNext(rest), rest, sink)
}

/**
 * Sends the blocks of `span` to `sink`, verified, read from the sources' streams in turn (`first`
 * is open already) into two buffers of a block each (streams/checked-writer.ts); a whole read's
 * blocks are copied to the cache too, and a buffer is filled again once both writes of it are done.
 * A bad block, or a source that fails, moves the rest to the next source from that block's start.
 */
async function receiveBlocks(
  read: VerifiedRead,
  digests: Buffer[],
  cursor: SourceCursor,
  first: Readable,
  span: ByteRange,
  sink: Writable,
): Promise<void> {
  const copy = new Copy(read.copy)
  const receiver = new BlockReceiver(digests, read.size, blocksOf(span), read.name, async (bytes, block) => {
    await Promise.all([copy.writeThrough(bytes), writeOut(sink, partIn(bytes, block, read.range))])
  })
  let stream: Readable | undefined = first
  try {
    while (!receiver.complete) {
      try {
        for await (const chunk of stream) await receiver.add(chunk as Buffer)
        if (!receiver.complete)
          throw new DfsError(
            'DFS_UNAVAILABLE',
            `${describe(cursor.current)} ended before block ${receiver.next}`,
          )
      } catch (error) {
        if (error instanceof HandOnFailed) throw handOnCause(error)
        stream.destroy()
        stream = undefined
        if (receiver.complete) break // every block came, and then more: the rest is not needed
        if (error instanceof BadBlock) cursor.bad(error.index)
        else {
          cursor.failed(error)
          receiver.restart()
        }
        stream = await cursor.openNext({ start: blockSpan(receiver.next, read.size).start, end: span.end })
      }
    }
    await receiver.end().catch((error: unknown) => {
      throw handOnCause(error)
    })
    await copy.finish()
    receiver.free()
  } finally {
    stream?.destroy()
    await copy.abort()
  }
}

/**
 * A block read whole into `buffer` and hashed piece by piece as it comes: its bytes, or 'bad' if
 * they do not match `digest` or the file ends first (it is short).
 */
async function readBlock(
  file: OpenedFile,
  buffer: Buffer,
  block: ByteRange,
  digest: Buffer | undefined,
): Promise<Buffer | 'bad'> {
  const length = block.end - block.start
  const hash = createHash('sha256')
  for (let have = 0; have < length;) {
    const piece = buffer.subarray(have, have + Math.min(READ_PIECE, length - have))
    const got = await file.read(piece, piece.length, block.start + have)
    if (got === 0) return 'bad'
    hash.update(piece.subarray(0, got))
    have += got
  }
  return digest !== undefined && hash.digest().equals(digest) ? buffer.subarray(0, length) : 'bad'
}

/** Walks the sources in order; remembers why each one failed, for the error if all do. */
class SourceCursor {
  private readonly read: VerifiedRead
  private readonly sources: BlockSource[]
  private at = -1
  private lastError: unknown
  sentBad = false

  constructor(read: VerifiedRead, sources: BlockSource[]) {
    this.read = read
    this.sources = sources
    this.lastError = new DfsError('DFS_UNAVAILABLE', `no live server holds ${read.name}`)
  }

  get current(): BlockSource | undefined {
    return this.sources[this.at]
  }

  /** The first source as a file, when it is one and opens (else the cursor has moved past it). */
  async openFirstFile(range: ByteRange): Promise<OpenedFile | undefined> {
    const first = this.sources[0]
    if (this.at !== -1 || !first?.openFile) return undefined
    this.at = 0
    try {
      return await first.openFile(range)
    } catch (error) {
      this.failed(error)
      return undefined
    }
  }

  /** Opens the next source that answers for `range`; throws when none is left. */
  async openNext(range: ByteRange): Promise<Readable> {
    while (++this.at < this.sources.length) {
      try {
        return await this.sources[this.at]!.open(range)
      } catch (error) {
        this.failed(error)
      }
    }
    throw this.exhausted()
  }

  failed(error: unknown): void {
    this.lastError = error
  }

  bad(index: number): void {
    this.sentBad = true
    this.current?.bad()
    this.lastError = new DfsError(
      'DFS_CORRUPT',
      `block ${index} of ${this.read.name} did not match its sha256`,
    )
  }

  private exhausted(): unknown {
    if (!this.sentBad) return this.lastError
    return new DfsError(
      'DFS_CORRUPT',
      `no holder of ${this.read.name} has good bytes for it (${(this.lastError as Error).message})`,
    )
  }
}

async function* byBlock(
  read: VerifiedRead,
  digests: Buffer[],
  cursor: SourceCursor,
  first: Readable,
  span: ByteRange,
): AsyncGenerator<Buffer> {
  const { first: firstBlock, last } = blocksOf(span)
  const gatherer = new BlockGatherer(read.size, firstBlock)
  const guard = memoryGuard()
  const copy = new Copy(read.copy)
  let stream: Readable | undefined = first
  try {
    while (gatherer.next <= last) {
      try {
        for await (const chunk of stream) {
          guard((chunk as Buffer).length)
          for (const block of gatherer.add(chunk as Buffer)) {
            if (!blockMatches(block, digests[block.index])) {
              cursor.bad(block.index)
              throw new BadBlock(block.index, read.name)
            }
            for (const part of block.parts) await copy.write(part)
            yield* within(block, read.range)
          }
        }
        if (gatherer.next <= last)
          throw new DfsError(
            'DFS_UNAVAILABLE',
            `${describe(cursor.current)} ended before block ${gatherer.next}`,
          )
      } catch (error) {
        // A block cut short or a bad one: the rest, from that block's start, from the next source.
        stream.destroy()
        stream = undefined
        if (error instanceof BadBlock) gatherer.restart(error.index)
        else {
          cursor.failed(error)
          gatherer.restart()
        }
        stream = await cursor.openNext({ start: blockSpan(gatherer.next, read.size).start, end: span.end })
      }
    }
    await copy.finish()
  } finally {
    stream?.destroy()
    await copy.abort()
  }
}

/** A version without a block list: passed on as it comes, its whole sha256 checked at the end. */
async function* whole(read: VerifiedRead, cursor: SourceCursor, stream: Readable): AsyncGenerator<Buffer> {
  const hash = createHash('sha256')
  const guard = memoryGuard()
  const copy = new Copy(read.copy)
  let offset = 0
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer
      guard(bytes.length)
      hash.update(bytes)
      if (offset + bytes.length > read.size) break
      await copy.write(bytes)
      yield* within(
        { index: 0, parts: [bytes] },
        { start: read.range.start - offset, end: read.range.end - offset },
      )
      offset += bytes.length
    }
    if (offset !== read.size || hash.digest('hex') !== read.sha256) {
      cursor.bad(0)
      throw new DfsError(
        'DFS_CORRUPT',
        `${describe(cursor.current)} sent bytes that do not match sha256 ${read.sha256}`,
      )
    }
    await copy.finish()
  } finally {
    stream.destroy()
    await copy.abort()
  }
}

/** A copy that failing never fails the read: it is dropped, and the read goes on. */
class Copy {
  private target: BlockCopy | undefined

  constructor(target: BlockCopy | undefined) {
    this.target = target
  }

  write(chunk: Buffer): Promise<void> {
    return this.copied((target) => target.write(chunk))
  }

  /** For a chunk whose memory is filled again once this resolves. */
  writeThrough(chunk: Buffer): Promise<void> {
    return this.copied((target) => target.writeThrough(chunk))
  }

  private async copied(write: (target: BlockCopy) => Promise<void>): Promise<void> {
    if (!this.target) return
    try {
      await write(this.target)
    } catch {
      await this.abort()
    }
  }

  async finish(): Promise<void> {
    const target = this.target
    this.target = undefined
    await target?.finish().catch(() => undefined)
  }

  async abort(): Promise<void> {
    const target = this.target
    this.target = undefined
    await target?.abort().catch(() => undefined)
  }
}

function describe(source: BlockSource | undefined): string {
  if (!source) return 'the source'
  return source.from === 'cache' ? "the proxy's cache" : `file server ${source.from}`
}
