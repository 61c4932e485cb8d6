// Content-addressed blob storage on a file server: blobs are named by the sha256 of their bytes,
// immutable once committed, and written so that a crash at any moment leaves either the whole blob
// or nothing.

import type { Readable } from 'node:stream'
import type { OpenedFile } from '../streams/reused-buffers.ts'

/**
 * What a writer hashes as the bytes pass: the whole and each block ('blocks', the default: a
 * primary's copy, whose list goes to the directory), the whole only ('whole': a replica's, which
 * answers only its hash), or nothing ('none': bytes the caller has checked itself, as the proxy's
 * cache has, and names at commit).
 */
export type WriterHashing = 'blocks' | 'whole' | 'none'

export interface BlobWriter {
  /** Appends bytes; resolves when the store can take more (backpressure). */
  write(chunk: Buffer): Promise<void>
  /**
   * Appends bytes and resolves only once they are written out, not merely queued: the caller may
   * then fill their memory again (a buffer used for block after block).
   */
  writeThrough(chunk: Buffer): Promise<void>
  /**
   * Makes the blob durable under its hash and returns it. A writer that hashes nothing is told the
   * hash (`known`); one that hashes is checked against `known` if given (DFS_CORRUPT, nothing kept).
   */
  commit(known?: { sha256: string }): Promise<StoredBlob>
  /** Drops everything written so far. Safe to call at any time, more than once. */
  abort(): Promise<void>
  /** Hash and size of the bytes seen so far. */
  readonly bytes: number
}

export interface StoredBlob {
  sha256: string
  size: number
  /** Its block list (protocol/blocks.ts), for blobs of more than one block. */
  blocks?: string
}

export interface BlobStore {
  /** Prepares the store and removes temp files a crash left behind. */
  open(): Promise<void>
  createWriter(options?: { hashing?: WriterHashing }): Promise<BlobWriter>
  size(sha256: string): Promise<number | undefined>
  /** `size`, when known, sizes the read buffer: a 4 KiB blob needs no 1 MiB of it. */
  read(sha256: string, size?: number): Readable
  /**
   * Bytes `start` to `endInclusive` of a blob, counted as an HTTP Range counts them (a reader
   * fetching one block again from another holder); fewer if the blob ends first, so the caller
   * checks the range against the blob's size.
   */
  readRange(sha256: string, start: number, endInclusive: number): Readable
  /** A blob opened to read into buffers of the caller's own (streams/reused-buffers.ts). */
  openRead(sha256: string): Promise<OpenedFile>
  /** Every blob held, in increasing hash order (a full inventory is sent in ranges of it). */
  list(): AsyncIterable<string>
  remove(sha256: string): Promise<void>
  quarantine(sha256: string): Promise<void>
  modified(sha256: string): Promise<number | undefined>
  freeBytes(): Promise<number>
}
