// Reading one version's bytes, verified block by block, from an ordered list of sources (the cache,
// then the file servers that hold it). A block that does not match its digest never goes on: its
// source is reported and the rest of the read comes from the next source, from that block's start,
// with a Range request, so the client sees nothing but a pause. Versions written before block lists
// were kept are checked whole, at the end, as before: a bad one is cut short.

import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { blockSpan } from '../../protocol/blocks.ts'
import { DfsError } from '../../protocol/errors.ts'
import { memoryGuard } from '../../streams/bounded-memory.ts'
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
  /** It sent bytes that do not match. */
  bad(): void
}

/** Where verified bytes of a whole-file read are also copied (a cold read filling the cache). */
export interface BlockCopy {
  write(chunk: Buffer): Promise<void>
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
export async function openVerified(
  read: VerifiedRead,
  sources: BlockSource[],
): Promise<{ body: Readable; from: 'cache' | number }> {
  const empty = read.range.end <= read.range.start
  const span = empty
    ? read.range
    : read.digests
      ? alignedRange(read.range, read.size)
      : { start: 0, end: read.size }
  const cursor = new SourceCursor(read, sources)
  const first = empty ? undefined : await cursor.openNext(span)
  const from = cursor.current?.from ?? sources[0]?.from ?? 'cache'
  if (!first) {
    await read.copy?.finish().catch(() => undefined)
    return { body: Readable.from([]), from }
  }
  const blocks = read.digests ? byBlock(read, read.digests, cursor, first, span) : whole(read, cursor, first)
  return { body: Readable.from(blocks, { objectMode: false, highWaterMark: 1024 * 1024 }), from }
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
              throw new BadBlock(block.index)
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

/** Thrown inside byBlock to move to the next source (the cursor already knows why). */
class BadBlock extends Error {
  readonly index: number

  constructor(index: number) {
    super(`block ${index} did not match`)
    this.index = index
  }
}

/** A copy that failing never fails the read: it is dropped, and the read goes on. */
class Copy {
  private target: BlockCopy | undefined

  constructor(target: BlockCopy | undefined) {
    this.target = target
  }

  async write(chunk: Buffer): Promise<void> {
    if (!this.target) return
    try {
      await this.target.write(chunk)
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
