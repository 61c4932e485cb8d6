// Block hashes: every version's bytes are cut into BLOCK_SIZE blocks, and the sha256 of each is
// recorded at write time next to the whole file's, so a reader can check each block as it passes
// (and never forward a bad one) instead of learning at the end that the whole was wrong. A file of
// one block needs no list: its one block's hash is the file's sha256. A list travels as the base64
// of its digests, concatenated in order.

import { createHash, type Hash } from 'node:crypto'
import { DfsError } from './errors.ts'

/** Fixed by the protocol: a different block size would be a new field, not a new value of this one. */
export const BLOCK_SIZE = 4 * 1024 * 1024
const DIGEST = 32

/**
 * The most blocks a list the directory keeps may name: a commit carries its list in a JSON body,
 * bounded at 1 MiB (server/limits.ts), and 16384 digests (a 64 GiB file) are 699,052 characters of
 * base64, leaving room for the rest of the commit. A bigger file is committed without a list, as by
 * a file server from before lists, and is verified whole.
 */
export const MAX_LISTED_BLOCKS = 16384

/** The longest block list, as base64, the directory takes (MAX_LISTED_BLOCKS digests). */
export const MAX_BLOCK_LIST_LENGTH = 4 * Math.ceil((MAX_LISTED_BLOCKS * DIGEST) / 3)

/** How many blocks a file of `size` bytes has (an empty file has one, empty). */
export function blockCount(size: number): number {
  return Math.max(1, Math.ceil(size / BLOCK_SIZE))
}

/** True when a file of `size` bytes has a block list (more than one block). */
export function hasBlockList(size: number): boolean {
  return size > BLOCK_SIZE
}

/** True when the directory keeps the block list of a file of `size` bytes (see MAX_LISTED_BLOCKS). */
export function keepsBlockList(size: number): boolean {
  return hasBlockList(size) && blockCount(size) <= MAX_LISTED_BLOCKS
}

/** The byte range [start, end) of block `index` of a file of `size` bytes. */
export function blockSpan(index: number, size: number): { start: number; end: number } {
  const start = index * BLOCK_SIZE
  return { start, end: Math.min(size, start + BLOCK_SIZE) }
}

/**
 * The digest of every block of a file: its list decoded, or for a one-block file its sha256. Throws
 * DFS_BAD_REQUEST for a list that does not fit the size (`what` names it in the message).
 */
export function blockDigests(
  file: { sha256: string; size: number; blocks?: string },
  what = 'the block list',
): Buffer[] {
  const count = blockCount(file.size)
  if (!hasBlockList(file.size)) {
    if (file.blocks !== undefined) throw new DfsError('DFS_BAD_REQUEST', `${what} is for a one-block file`)
    return [Buffer.from(file.sha256, 'hex')]
  }
  if (file.blocks === undefined) throw new DfsError('DFS_BAD_REQUEST', `${what} is missing`)
  const raw = Buffer.from(file.blocks, 'base64')
  if (raw.length !== count * DIGEST || raw.toString('base64') !== file.blocks)
    throw new DfsError('DFS_BAD_REQUEST', `${what} does not have ${count} sha256 digests`)
  const digests: Buffer[] = []
  for (let i = 0; i < count; i++) digests.push(raw.subarray(i * DIGEST, (i + 1) * DIGEST))
  return digests
}

/** Hashes bytes as they are written, one sha256 per block, alongside the whole file's. */
export class BlockHasher {
  private readonly digests: Buffer[] = []
  private block: Hash = createHash('sha256')
  private inBlock = 0
  size = 0

  update(chunk: Buffer): void {
    let at = 0
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, BLOCK_SIZE - this.inBlock)
      this.block.update(at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take))
      this.inBlock += take
      at += take
      if (this.inBlock === BLOCK_SIZE) {
        this.digests.push(this.block.digest())
        this.block = createHash('sha256')
        this.inBlock = 0
      }
    }
    this.size += chunk.length
  }

  /** The block list of everything seen, or undefined for a one-block file. Call once, at the end. */
  list(): string | undefined {
    if (this.inBlock > 0 || this.digests.length === 0) this.digests.push(this.block.digest())
    return hasBlockList(this.size) ? Buffer.concat(this.digests).toString('base64') : undefined
  }
}
