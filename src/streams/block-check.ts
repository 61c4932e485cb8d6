// Checking bytes block by block as they pass: chunks are gathered into whole blocks (protocol/
// blocks.ts), each is hashed against its digest, and only a block that matches goes on, cut to the
// byte range asked for. A reader holds at most one block (4 MiB) at a time. Each chunk is hashed as
// it arrives, while its bytes are still in the CPU's cache, not when its block is whole.

import { createHash, type Hash } from 'node:crypto'
import { BLOCK_SIZE, blockSpan } from '../protocol/blocks.ts'
import { DfsError } from '../protocol/errors.ts'

/** A byte range of a file: [start, end). */
export interface ByteRange {
  start: number
  end: number
}

export interface Block {
  index: number
  parts: Buffer[]
  /** The sha256 of the block's bytes. */
  digest: Buffer
}

/** The blocks a range touches, first and last (inclusive). */
export function blocksOf(range: ByteRange): { first: number; last: number } {
  return { first: Math.floor(range.start / BLOCK_SIZE), last: Math.floor((range.end - 1) / BLOCK_SIZE) }
}

/** The block-aligned byte range that covers `range` in a file of `size` bytes. */
export function alignedRange(range: ByteRange, size: number): ByteRange {
  const { first, last } = blocksOf(range)
  return { start: blockSpan(first, size).start, end: blockSpan(last, size).end }
}

/** Gathers a stream of chunks, starting at the start of block `next`, into whole blocks. */
export class BlockGatherer {
  private readonly size: number
  private parts: Buffer[] = []
  private hash: Hash = createHash('sha256')
  private have = 0
  next: number

  constructor(size: number, first: number) {
    this.size = size
    this.next = first
  }

  /** Bytes of the block in progress. */
  get pending(): number {
    return this.have
  }

  /** Adds a chunk; returns the blocks it completed, in order. */
  add(chunk: Buffer): Block[] {
    const done: Block[] = []
    let at = 0
    while (at < chunk.length) {
      const { start, end } = blockSpan(this.next, this.size)
      const take = Math.min(chunk.length - at, end - start - this.have)
      if (take <= 0) throw new DfsError('DFS_CORRUPT', 'more bytes than the file has')
      const part = at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take)
      this.parts.push(part)
      this.hash.update(part)
      this.have += take
      at += take
      if (this.have === end - start) {
        done.push({ index: this.next, parts: this.parts, digest: this.hash.digest() })
        this.parts = []
        this.hash = createHash('sha256')
        this.have = 0
        this.next++
      }
    }
    return done
  }

  /**
   * Drops the block in progress, or goes back to block `from` (one that came whole but bad): the rest
   * comes again from that block's start, from another source.
   */
  restart(from = this.next): void {
    this.parts = []
    this.hash = createHash('sha256')
    this.have = 0
    this.next = from
  }
}

export function blockMatches(block: Block, digest: Buffer | undefined): boolean {
  return digest !== undefined && block.digest.equals(digest)
}

/** The parts of a verified block that fall inside `range`. */
export function within(block: Pick<Block, 'index' | 'parts'>, range: ByteRange): Buffer[] {
  let offset = block.index * BLOCK_SIZE
  const out: Buffer[] = []
  for (const part of block.parts) {
    const from = Math.max(range.start, offset)
    const to = Math.min(range.end, offset + part.length)
    if (to > from)
      out.push(
        from === offset && to === offset + part.length ? part : part.subarray(from - offset, to - offset),
      )
    offset += part.length
  }
  return out
}
