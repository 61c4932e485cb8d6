// Sending file bytes through buffers used again and again. A stream of a file reads each chunk into
// a fresh Buffer, which V8 frees only when a collection finds it dead; a server with transfers in
// flight pays for those collections (./bounded-memory.ts) with a large part of its CPU. Read into a
// buffer of our own instead, written to the sink only once the write before it is done, a file is
// sent with no garbage per chunk. The rule that makes it safe: a buffer is filled again only after
// the sink's callback for the last write of it, when the sink (a socket, through TLS) is done with it.

import type { Writable } from 'node:stream'
import { BLOCK_SIZE } from '../protocol/blocks.ts'
import type { ByteRange } from './block-check.ts'

/** What one buffer holds: a block (4 MiB), so a verified read fills one with a whole block. */
export const BUFFER_SIZE = BLOCK_SIZE
/** How much one write to the sink carries: TLS holds a write's bytes, encrypted, until they are sent. */
const WRITE_PIECE = 256 * 1024

/** A buffer for `bytes` of a send, at most BUFFER_SIZE: its own memory, so freeBuffers can free it. */
export function takeBuffer(bytes: number): Buffer {
  return Buffer.allocUnsafeSlow(Math.max(1, Math.min(BUFFER_SIZE, bytes)))
}

/**
 * Frees the memory of buffers no write uses any more, at once: left to the collector, which a send
 * through them no longer calls for, two blocks a send stayed in the process for long after. Never
 * after a failed send: a write may still hold one.
 */
export function freeBuffers(buffers: Buffer[]): void {
  for (const buffer of buffers) (buffer.buffer as ArrayBuffer).transfer(0)
}

/**
 * Writes `bytes` to `sink` in pieces; resolves once the sink is done with all of them (the buffer
 * is free again), rejects if it fails or closes first. The promise is marked handled: a caller may
 * do other work (read the next buffer) before it awaits it.
 */
export function writeOut(sink: Writable, bytes: Buffer): Promise<void> {
  const last = Math.max(0, Math.floor((bytes.length - 1) / WRITE_PIECE) * WRITE_PIECE)
  for (let at = 0; at < last; at += WRITE_PIECE) sink.write(bytes.subarray(at, at + WRITE_PIECE))
  // The sink calls back in order: once the last piece is done, so are the others.
  const done = new Promise<void>((resolve, reject) => {
    if (sink.destroyed) return reject(gone())
    const onClose = () => reject(gone())
    sink.once('close', onClose)
    sink.write(bytes.subarray(last), (error) => {
      sink.off('close', onClose)
      if (error) reject(error)
      else resolve()
    })
  })
  done.catch(() => undefined)
  return done
}

/** Resolves on the sink's 'drain'; rejects if it closes first. */
export function drained(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sink.destroyed) return reject(gone())
    const onClose = () => {
      sink.off('drain', onDrain)
      reject(gone())
    }
    const onDrain = () => {
      sink.off('close', onClose)
      resolve()
    }
    sink.once('close', onClose)
    sink.once('drain', onDrain)
  })
}

function gone(): Error {
  return Object.assign(new Error('the client went away'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
}

/** A file open for reading at any position. */
export interface OpenedFile {
  /** Reads up to `length` bytes at `position` into the start of `buffer`; how many it read (0: the end). */
  read(buffer: Buffer, length: number, position: number): Promise<number>
  close(): Promise<void>
}

/**
 * Writes to `sink` what `fill` puts in two buffers, in turn, for a send of `total` bytes in `turns`
 * turns: while one buffer is being written, `fill` fills the other. `fill(buffer, turn)` returns the
 * part of `buffer` to write, or undefined to stop there. Resolves once every write has ended: true
 * if every turn was written, false if `fill` stopped early. Rejects if `fill` or the sink fails (the
 * sink is then the caller's to destroy).
 */
export async function sendThrough(
  total: number,
  turns: number,
  fill: (buffer: Buffer, turn: number) => Promise<Buffer | undefined>,
  sink: Writable,
): Promise<boolean> {
  const buffers = turns > 1 ? [takeBuffer(total), takeBuffer(total)] : [takeBuffer(total)]
  let writing: Promise<void> = Promise.resolve()
  let turn = 0
  for (; turn < turns; turn++) {
    // This buffer's last write ended before the write under way began.
    const bytes = await fill(buffers[turn % buffers.length]!, turn)
    if (bytes === undefined) break
    await writing
    writing = writeOut(sink, bytes)
  }
  await writing
  freeBuffers(buffers)
  return turn === turns
}

/**
 * Sends bytes [range.start, range.end) of a file to `sink` (through sendThrough). Resolves once every
 * byte is written; rejects if the file ends first, a read fails, or the sink does.
 */
export async function sendFileRange(file: OpenedFile, range: ByteRange, sink: Writable): Promise<void> {
  const total = range.end - range.start
  await sendThrough(
    total,
    Math.ceil(total / BUFFER_SIZE),
    async (buffer, turn) => {
      const at = range.start + turn * BUFFER_SIZE
      const length = Math.min(BUFFER_SIZE, range.end - at)
      for (let have = 0; have < length;) {
        const got = await file.read(buffer.subarray(have), length - have, at + have)
        if (got === 0) throw new Error(`the file ends at byte ${at + have}, before ${range.end}`)
        have += got
      }
      return buffer.subarray(0, length)
    },
    sink,
  )
}
