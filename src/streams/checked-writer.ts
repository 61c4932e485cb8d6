// Receiving a file block by block into two buffers of our own, the receiving half of
// ./reused-buffers.ts. Each chunk read from a socket is copied into the block being gathered and
// hashed there, and is then garbage at once: young collections free it for almost nothing. Held
// in a list until its block was checked, as before, every chunk of a 4 MiB block outlived a young
// collection or two, and freeing them cost a fifth of a 512 MiB `dfs get`'s CPU.
//
// A block goes to its destination only once it matches its digest, cut to the range asked for; a
// buffer is filled again only after the write of it has ended. A bad block, more bytes than the
// range's blocks, or bytes that stop short of its last block fail the stream (DFS_CORRUPT) before
// anything of that block is written.

import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { BLOCK_SIZE, blockSpan } from '../protocol/blocks.ts'
import { DfsError } from '../protocol/errors.ts'
import { blocksOf, type ByteRange } from './block-check.ts'
import { memoryGuard } from './bounded-memory.ts'

/** Writes bytes out; resolves once they are written and their memory may be used again. */
export type Put = (bytes: Buffer) => Promise<void>

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
  const { first, last } = range.end > range.start ? blocksOf(range) : { first: 0, last: -1 }
  const gathered = last >= first ? blockSpan(last, size).end - blockSpan(first, size).start : 0
  const bufferSize = Math.max(1, Math.min(BLOCK_SIZE, gathered))
  const buffers = last > first ? [buffer(bufferSize), buffer(bufferSize)] : [buffer(bufferSize)]
  // The write of each buffer under way (marked handled: it is awaited before the buffer is reused).
  const writes: Promise<void>[] = buffers.map(() => Promise.resolve())
  const guard = memoryGuard()
  let turn = 0
  let next = first
  let have = 0
  let hash = createHash('sha256')

  const corrupt = (message: string) => new DfsError('DFS_CORRUPT', message)

  async function take(chunk: Buffer): Promise<void> {
    guard(chunk.length)
    let at = 0
    while (at < chunk.length) {
      if (next > last) throw corrupt(`more bytes of ${what} came than were asked for`)
      const span = blockSpan(next, size)
      // A buffer is filled again only once the write of what it held has ended.
      if (have === 0) await writes[turn]
      const into = buffers[turn]!
      const count = Math.min(chunk.length - at, span.end - span.start - have)
      chunk.copy(into, have, at, at + count)
      hash.update(into.subarray(have, have + count))
      have += count
      at += count
      if (have < span.end - span.start) continue
      const digest = digests[next]
      if (digest === undefined || !hash.digest().equals(digest))
        throw corrupt(`block ${next} of ${what} does not match its sha256`)
      const from = Math.max(range.start, span.start) - span.start
      const to = Math.min(range.end, span.end) - span.start
      const written = put(into.subarray(from, to))
      written.catch(() => undefined)
      writes[turn] = written
      turn = (turn + 1) % buffers.length
      next++
      have = 0
      hash = createHash('sha256')
    }
  }

  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      take(chunk).then(() => callback(), callback)
    },
    final(callback) {
      Promise.all(writes).then(() => {
        if (next <= last) return callback(corrupt(`${what} ended before block ${next}`))
        // Freed at once, not left for a collection; never after a failure, when a write may hold one.
        for (const used of buffers) (used.buffer as ArrayBuffer).transfer(0)
        callback()
      }, callback)
    },
  })
}

/** A buffer with memory of its own, so it can be freed when the transfer ends. */
function buffer(bytes: number): Buffer {
  return Buffer.allocUnsafeSlow(bytes)
}
