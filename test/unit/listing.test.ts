// The file server's listings on disk (src/roles/fileserver/listing.ts): a walk of the store written
// in hash order and compared with the acknowledged listing on the way, then read back in pages;
// enough hashes to cross the chunks it writes and reads, none held in memory but a page.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Listings } from '../../src/roles/fileserver/listing.ts'

const hash = (i: number) => createHash('sha256').update(String(i)).digest('hex')
/** 70,000 hashes in order: past two chunks of 32,768. */
const ALL = Array.from({ length: 70_000 }, (_, i) => hash(i)).sort()

async function* listed(blobs: string[]) {
  yield* blobs
}

async function pages(listings: Listings, size: number) {
  const all: { blobs: string[]; last: boolean }[] = []
  for await (const page of listings.pages(size)) all.push(page)
  return all
}

describe('listings', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-listing-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test('a first walk is written in order, 32 bytes a blob, and read back in pages', async () => {
    const listings = new Listings(join(dir, 'a'))
    assert.equal(await listings.hasCurrent(), false)
    const walk = await listings.walk(listed(ALL), false, new Set([ALL[5]!, hash(-1)]))
    assert.deepEqual(walk, { held: ALL.length, added: [], removed: [], present: new Set([ALL[5]]) })
    assert.equal((await stat(join(dir, 'a', 'listing.next'))).size, 32 * ALL.length)
    const read = await pages(listings, 30_000)
    assert.deepEqual(
      read.map((p) => [p.blobs.length, p.last]),
      [
        [30_000, false],
        [30_000, false],
        [10_000, true],
      ],
    )
    assert.deepEqual(
      read.flatMap((p) => p.blobs),
      ALL,
    )
    assert.deepEqual(
      (await pages(listings, 35_000)).map((p) => [p.blobs.length, p.last]),
      [
        [35_000, false],
        [35_000, true],
      ],
      'a last page that is full is the last all the same',
    )
    await listings.keep()
    assert.equal(await listings.hasCurrent(), true)
  })

  test('a walk compared with the acknowledged listing tells what was added and removed', async () => {
    const listings = new Listings(join(dir, 'b'))
    await listings.walk(listed(ALL), false, new Set())
    await listings.keep()
    const removed = [ALL[0]!, ALL[40_000]!, ALL.at(-1)!]
    const added = [hash(-1), hash(-2), hash(-3)].sort()
    const now = [...ALL.filter((h) => !removed.includes(h)), ...added].sort()
    const walk = await listings.walk(listed(now), true, new Set([added[0]!, removed[1]!]))
    assert.deepEqual(walk.added, added)
    assert.deepEqual(walk.removed, removed)
    assert.deepEqual(walk.present, new Set([added[0]]))
    assert.equal(walk.held, now.length)
    // Not kept: the acknowledged listing is still the one before.
    const again = await listings.walk(listed(now), true, new Set())
    assert.deepEqual([again.added, again.removed], [added, removed])
  })

  test('nothing held is one empty last page; a store that lists out of order is refused', async () => {
    const listings = new Listings(join(dir, 'c'))
    await listings.walk(listed([]), false, new Set())
    assert.deepEqual(await pages(listings, 10), [{ blobs: [], last: true }])
    await assert.rejects(listings.walk(listed([ALL[1]!, ALL[0]!]), false, new Set()), /listed .* after/)
    await assert.rejects(listings.walk(listed([ALL[1]!, ALL[1]!]), false, new Set()), /listed .* after/)
  })
})
