// Receiving a file block by block into two buffers of our own, the receiving half of
// ./reused-buffers.ts. Each chunk read from a socket is copied into the block being gathered and
// hashed there, and is then garbage at once: young collections free it for almost nothing. Held
// in a list until its block was checked, as before, every chunk of a 4 MiB block outlived a young
// collection or two, and freeing them cost a fifth of a 512 MiB `dfs get`'s CPU and, in a proxy
// filling its cache on a cold read, more.
//
// A block is handed on only once it matches its digest; a buffer is filled again only after what
// was done with it has ended. A bad block, more bytes than the blocks asked for, or bytes that stop
// short of the last block fail the transfer (DFS_CORRUPT) before anything of that block is handed on.

import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { blockSpan } from '../protocol/blocks.ts'
import { DfsError } from '../protocol/errors.ts'
import { blocksOf, type ByteRange } from './block-check.ts'
import { memoryGuard } from './bounded-memory.ts'
import { freeBuffers, takeBuffer } from './reused-buffers.ts'

/** Writes bytes out; resolves once they are written and their memory may be used again. */
export type Put = (bytes: Buffer) => Promise<void>

/** A block that did not match its digest (or that no digest was given for). */
export class BadBlock extends DfsError {
  readonly index: number

  constructor(index: number, what: string) {
    super('DFS_CORRUPT', `block ${index} of ${what} does not match its sha256`)
    this.index = index
  }
}

/** What a block was handed to failed: the transfer cannot go on, whichever source the bytes are from. */
export class HandOnFailed extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
  }
}

/** The error itself, or for a failed hand-on what the hand-on failed with. */
export function handOnCause(error: unknown): Error {
  return (error instanceof HandOnFailed ? error.cause : error) as Error
}

/**
 * Gathers chunks of blocks `first` to `last` of a file of `size` bytes into two buffers of a block
 * each, checks each block whole, and hands each good one on (`handOn(bytes, span)`: the block's
 * bytes and where they lie in the file). The chunks may come from more than one source in turn: a
 * source that fails or sends a bad block is left with `restart()`, and the next one sends from the
 * start of block `next`.
 */
export class BlockReceiver {
  private readonly digests: readonly Buffer[]
  private readonly size: number
  private readonly last: number
  private readonly what: string
  private readonly handOn: (bytes: Buffer, span: ByteRange) => Promise<void>
  private readonly buffers: Buffer[]
  /** What is being done with each buffer (marked handled: awaited before the buffer is reused). */
  private readonly busy: Promise<void>[]
  private readonly guard = memoryGuard()
  private turn = 0
  private have = 0
  private hash = createHash('sha256')
  /** The block being gathered. */
  next: number

  constructor(
    digests: readonly Buffer[],
    size: number,
    blocks: { first: number; last: number },
    what: string,
    handOn: (bytes: Buffer, span: ByteRange) => Promise<void>,
  ) {
    this.digests = digests
    this.size = size
    this.next = blocks.first
    this.last = blocks.last
    this.what = what
    this.handOn = handOn
    const gathered =
      blocks.last >= blocks.first ? blockSpan(blocks.last, size).end - blockSpan(blocks.first, size).start : 0
    // Memory of their own (not the shared pool), so free() can give it back at once.
    this.buffers = Array.from({ length: blocks.last > blocks.first ? 2 : 1 }, () => takeBuffer(gathered))
    this.busy = this.buffers.map(() => Promise.resolve())
  }

  /** Whether every block has been handed on (the last hand-on may still be under way). */
  get complete(): boolean {
    return this.next > this.last
  }

  /**
   * Takes a chunk. Throws BadBlock for a block that does not match, DFS_CORRUPT for bytes past the
   * last block, and HandOnFailed when a hand-on failed.
   */
  async add(chunk: Buffer): Promise<void> {
    this.guard(chunk.length)
    let at = 0
    while (at < chunk.length) {
      if (this.next > this.last)
        throw new DfsError('DFS_CORRUPT', `more bytes of ${this.what} came than were asked for`)
      const span = blockSpan(this.next, this.size)
      const length = span.end - span.start
      // A buffer is filled again only once what was done with it has ended.
      if (this.have === 0) await this.busy[this.turn]
      const into = this.buffers[this.turn]!
      const count = Math.min(chunk.length - at, length - this.have)
      chunk.copy(into, this.have, at, at + count)
      this.hash.update(into.subarray(this.have, this.have + count))
      this.have += count
      at += count
      if (this.have < length) continue
      const digest = this.digests[this.next]
      if (digest === undefined || !this.hash.digest().equals(digest)) {
        const index = this.next
        this.restart()
        throw new BadBlock(index, this.what)
      }
      const handed = this.handOn(into.subarray(0, length), span).catch((error: unknown) => {
        throw new HandOnFailed(error)
      })
      handed.catch(() => undefined)
      this.busy[this.turn] = handed
      this.turn = (this.turn + 1) % this.buffers.length
      this.next++
      this.have = 0
      this.hash = createHash('sha256')
    }
  }

  /** Drops the block being gathered: the next chunk is the first of block `next`. */
  restart(): void {
    this.have = 0
    this.hash = createHash('sha256')
  }

  /** Waits for every hand-on; throws HandOnFailed if one failed, DFS_CORRUPT if blocks are missing. */
  async end(): Promise<void> {
    await Promise.all(this.busy)
    if (this.next <= this.last)
      throw new DfsError('DFS_CORRUPT', `${this.what} ended before block ${this.next}`)
  }

  /** Gives the buffers' memory back. Only after end(): never while a hand-on may still hold one. */
  free(): void {
    freeBuffers(this.buffers)
  }
}

/** The part of a block (`bytes`, lying at `span` of the file) inside `range`. */
export function partIn(bytes: Buffer, span: ByteRange, range: ByteRange): Buffer {
  const from = Math.max(range.start, span.start) - span.start
  const to = Math.min(range.end, span.end) - span.start
  return to > from ? bytes.subarray(from, to) : bytes.subarray(0, 0)
}

/**
 * A sink for the bytes of a file of `size` bytes from the start of the first block `range` touches
 * to the end of its last: each block is checked against `digests` and its part in `range` is given
 * to `put`, in order.
 */
export function checkedWriter(
  digests: readonly Buffer[],
  size: number,
  range: ByteRange,
  what: string,
  put: Put,
): Writable {
  const blocks = range.end > range.start ? blocksOf(range) : { first: 0, last: -1 }
  const receiver = new BlockReceiver(digests, size, blocks, what, (bytes, span) =>
    put(partIn(bytes, span, range)),
  )
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      receiver.add(chunk).then(
        () => callback(),
        (error: unknown) => callback(handOnCause(error)),
      )
    },
    final(callback) {
      receiver.end().then(
        () => {
          receiver.free()
          callback()
        },
        (error: unknown) => callback(handOnCause(error)),
      )
    },
  })
}
