// The namespace the names bench loads, generated: the same at every run and in every store, so
// figures compare. Name i is d<i / 1000>/f<i % 1000>, held by file servers i % 3 + 1 and
// (i + 1) % 3 + 1 (R=2), every tenth name with 3 versions; each version's blob is sha256("i.v").
// The PostgreSQL loader says the same in SQL (bench-names-postgres.ts); checkLoaded reads a few
// names back against these functions, whichever loader made them.

import { createHash } from 'node:crypto'
import type { MetadataStore } from '../src/metadata/store.ts'
import type { FileVersion } from '../src/protocol/types.ts'
import type { BlobStore } from '../src/storage/blob-store.ts'
import type { Readable } from 'node:stream'

export const SERVERS = [1, 2, 3]
export const NAMES_PER_DIR = 1000
/** The user who wrote and owns every name loaded. */
export const USER = 'bench'
export const GROUP = 'users'
export const MODE = 0o664

export const nameOf = (i: number) =>
  `d${String(Math.floor(i / NAMES_PER_DIR)).padStart(4, '0')}/f${String(i % NAMES_PER_DIR).padStart(3, '0')}`
export const versionsOf = (i: number) => (i % 10 === 0 ? 3 : 1)
export const holdersOf = (i: number) => [SERVERS[i % 3]!, SERVERS[(i + 1) % 3]!]
export const sizeOf = (i: number) => 1024 + (i % 4096)
const blobBytesOf = (i: number, version: number) => createHash('sha256').update(`${i}.${version}`).digest()
export const blobOf = (i: number, version: number) => blobBytesOf(i, version).toString('hex')

/**
 * Every blob file server `server` holds, 32 bytes each (ten million names' blobs on one server take
 * 234 MB so, not the gigabyte their hex strings would), grouped by first byte so that they list in
 * hash order one group at a time, as the disk store lists one prefix directory at a time.
 */
export class HeldBlobs {
  readonly count: number
  private readonly grouped: Buffer
  /** Where each first byte's group starts, in hashes; the 257th is the end. */
  private readonly starts: number[]

  constructor(server: number, size: number) {
    this.count = blobCountOn(server, size)
    const flat = Buffer.allocUnsafe(this.count * 32)
    const counts = new Array<number>(256).fill(0)
    let at = 0
    for (let i = 0; i < size; i++) {
      if (!holdersOf(i).includes(server)) continue
      for (let v = 1; v <= versionsOf(i); v++) {
        blobBytesOf(i, v).copy(flat, at * 32)
        counts[flat[at * 32]!]!++
        at++
      }
    }
    this.starts = [0]
    for (const n of counts) this.starts.push(this.starts.at(-1)! + n)
    this.grouped = Buffer.allocUnsafe(flat.length)
    const next = this.starts.slice(0, 256)
    for (let h = 0; h < this.count; h++)
      flat.copy(this.grouped, next[flat[h * 32]!]!++ * 32, h * 32, h * 32 + 32)
  }

  /** The hashes in increasing order. */
  *sorted(): Generator<string> {
    for (let group = 0; group < 256; group++) {
      const hashes: string[] = []
      for (let h = this.starts[group]!; h < this.starts[group + 1]!; h++)
        hashes.push(this.grouped.toString('hex', h * 32, h * 32 + 32))
      yield* hashes.sort()
    }
  }
}

/** How many blobs file server `server` holds. */
export function blobCountOn(server: number, size: number): number {
  let count = 0
  for (let i = 0; i < size; i++) if (holdersOf(i).includes(server)) count += versionsOf(i)
  return count
}

/** A file server's blob store that only lists (from memory, in hash order): an inventory needs nothing else. */
export function listingOnly(blobs: HeldBlobs): BlobStore {
  const unused = (): never => {
    throw new Error('not used by the benchmark')
  }
  return {
    open: async () => undefined,
    createWriter: async () => unused(),
    size: async () => unused(),
    read: (): Readable => unused(),
    readRange: (): Readable => unused(),
    openRead: async () => unused(),
    async *list() {
      yield* blobs.sorted()
    },
    remove: async () => unused(),
    quarantine: async () => unused(),
    modified: async () => undefined,
    freeBytes: async () => 1e12,
  }
}

/** A few names read back through the store against the generator. */
export async function checkLoaded(store: MetadataStore, size: number): Promise<void> {
  for (const i of [0, 1, 2, 9, 10, 999, 1000, Math.floor(size / 2) + 7, size - 1]) {
    const file = await store.getFile(nameOf(i))
    const version = versionsOf(i)
    const expected = {
      name: nameOf(i),
      version,
      sha256: blobOf(i, version),
      size: sizeOf(i),
      primary: holdersOf(i)[0],
      holders: holdersOf(i),
      writer: USER,
      owner: USER,
      group: GROUP,
      mode: MODE,
    }
    const got =
      file && Object.fromEntries(Object.keys(expected).map((key) => [key, file[key as keyof FileVersion]]))
    if (JSON.stringify(got) !== JSON.stringify(expected))
      throw new Error(
        `loaded ${nameOf(i)} reads back as ${JSON.stringify(got)}, not ${JSON.stringify(expected)}`,
      )
    const versions = await store.listVersions(nameOf(i))
    if (versions.length !== version)
      throw new Error(`${nameOf(i)} has ${versions.length} versions, not ${version}`)
  }
}
