// The contract every BlobStore keeps, against the interface alone (blob-store-*.test.ts run it):
// blobs named by the sha256 of their bytes, whole or absent, identical bytes stored once, aborted
// writes leaving nothing, reads that stream, whole or a range, listing in hash order, removal and
// quarantine, and a block list recorded with every blob of more than one block.

import { describe, test, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { buffer } from 'node:stream/consumers'
import { BLOCK_SIZE } from '../../src/protocol/blocks.ts'
import type { BlobStore } from '../../src/storage/blob-store.ts'

export interface BlobStoreUnderTest {
  store: BlobStore
  /** Closes the store and removes what it kept. */
  destroy(): Promise<void>
  /** A new store over the same storage, as after a restart. */
  reopen(): Promise<BlobStore>
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex')

async function put(store: BlobStore, data: Buffer, chunk = 64 * 1024) {
  const writer = await store.createWriter()
  for (let at = 0; at < data.length; at += chunk) await writer.write(data.subarray(at, at + chunk))
  return writer.commit()
}

async function listAll(store: BlobStore): Promise<string[]> {
  const names: string[] = []
  for await (const name of store.list()) names.push(name)
  return names.sort()
}

export function blobStoreContract(kind: string, open: () => Promise<BlobStoreUnderTest>): void {
  describe(`BlobStore contract: ${kind}`, () => {
    let subject: BlobStoreUnderTest
    let store: BlobStore
    beforeEach(async () => {
      subject = await open()
      store = subject.store
      await store.open()
    })
    afterEach(async () => {
      await subject.destroy()
    })

    test('a blob is named by the sha256 of its bytes and reads back whole, for 0 bytes to several MiB', async () => {
      for (const size of [0, 1, 65_537, 3 * 1024 * 1024 + 7]) {
        const data = Buffer.alloc(size, size % 251)
        const stored = await put(store, data)
        assert.deepEqual(stored, { sha256: sha(data), size })
        assert.equal(await store.size(stored.sha256), size)
        assert.ok(sha(await buffer(store.read(stored.sha256))) === sha(data), `${size} bytes read back`)
        // A size given to read only sizes its buffer: a wrong one still reads every byte.
        for (const hint of [size, 1, size * 2 + 1])
          assert.ok(
            sha(await buffer(store.read(stored.sha256, hint))) === sha(data),
            `${size} bytes, hint ${hint}`,
          )
      }
    })

    test('a blob of more than one block is stored with one sha256 per 4 MiB block, however it was written', async () => {
      // Every block different, so a list of the wrong blocks (or the right ones out of order) shows.
      const data = Buffer.alloc(2 * BLOCK_SIZE + 12_345)
      for (let at = 0; at + 4 <= data.length; at += 4) data.writeUInt32LE((at * 2654435761) >>> 0, at)
      const digests = [0, 1, 2].map((i) =>
        createHash('sha256')
          .update(data.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE))
          .digest(),
      )
      const expected = {
        sha256: sha(data),
        size: data.length,
        blocks: Buffer.concat(digests).toString('base64'),
      }
      for (const chunk of [64 * 1024, BLOCK_SIZE + 1, 1_000_003]) {
        assert.deepEqual(await put(store, data, chunk), expected, `chunks of ${chunk}`)
      }
      // Exactly one block has no list (its digest is its sha256); one byte more has two.
      const one = await put(store, data.subarray(0, BLOCK_SIZE))
      assert.deepEqual(one, { sha256: sha(data.subarray(0, BLOCK_SIZE)), size: BLOCK_SIZE })
      const two = await put(store, data.subarray(0, BLOCK_SIZE + 1))
      const last = createHash('sha256')
        .update(data.subarray(BLOCK_SIZE, BLOCK_SIZE + 1))
        .digest()
      assert.equal(two.blocks, Buffer.concat([digests[0]!, last]).toString('base64'))
    })

    test('a writer hashes what it is asked to: blocks, the whole only, or nothing (the caller names the hash)', async () => {
      const data = Buffer.alloc(BLOCK_SIZE + 100, 7)
      const write = async (hashing: 'blocks' | 'whole' | 'none', known?: { sha256: string }) => {
        const writer = await store.createWriter({ hashing })
        await writer.write(data)
        return writer.commit(known)
      }
      assert.ok((await write('blocks')).blocks, 'a primary keeps its list')
      const whole = await write('whole')
      assert.deepEqual([whole.sha256, whole.blocks], [sha(data), undefined])
      await store.remove(sha(data))
      await assert.rejects(write('none'), /needs its hash named/)
      assert.equal((await write('none', { sha256: sha(data) })).sha256, sha(data))
      assert.ok((await buffer(store.read(sha(data)))).equals(data))
      await store.remove(sha(data))
      await assert.rejects(write('whole', { sha256: 'f'.repeat(64) }), /DFS_CORRUPT|do not match/)
      assert.equal(await store.size(sha(data)), undefined, 'nothing kept under either name')
      assert.equal(await store.size('f'.repeat(64)), undefined)
    })

    test('a range reads bytes start to end inclusive, and fewer where the blob ends first', async () => {
      const data = Buffer.alloc(3 * 1024 * 1024 + 7)
      for (let at = 0; at < data.length; at++) data[at] = (at * 31 + (at >> 12)) & 0xff
      const { sha256 } = await put(store, data)
      const ranges: [number, number][] = [
        [0, 0],
        [0, data.length - 1],
        [1, 1024 * 1024],
        [data.length - 1, data.length - 1],
        [2 * 1024 * 1024 + 5, 3 * 1024 * 1024],
      ]
      for (const [start, end] of ranges) {
        const read = await buffer(store.readRange(sha256, start, end))
        assert.ok(read.equals(data.subarray(start, end + 1)), `bytes ${start}-${end}`)
      }
      const tail = await buffer(store.readRange(sha256, data.length - 3, data.length + 1000))
      assert.ok(tail.equals(data.subarray(data.length - 3)), 'a range past the end stops at the end')
      assert.throws(() => store.readRange(sha256, 5, 4), { code: 'DFS_BAD_RANGE' })
      assert.throws(() => store.readRange(sha256, -1, 4), { code: 'DFS_BAD_RANGE' })
    })

    test('the same bytes twice are one blob; a blob never written has no size', async () => {
      const data = Buffer.from('same bytes\n')
      const a = await put(store, data)
      const b = await put(store, data, 3)
      assert.deepEqual(a, b)
      assert.deepEqual(await listAll(store), [a.sha256])
      assert.equal(await store.size('0'.repeat(64)), undefined)
    })

    test('the listing is in increasing hash order, across prefixes and within one', async () => {
      // Enough blobs that several share a first byte (a prefix directory on disk) and most do not.
      const stored: string[] = []
      for (let i = 0; i < 600; i++) stored.push((await put(store, Buffer.from(`blob ${i}\n`))).sha256)
      const listed: string[] = []
      for await (const name of store.list()) listed.push(name)
      assert.deepEqual(listed, stored.toSorted())
    })

    test('an aborted write leaves nothing, at any point, and abort may be called twice', async () => {
      const writer = await store.createWriter()
      await writer.write(Buffer.alloc(100_000, 1))
      assert.equal(writer.bytes, 100_000)
      await writer.abort()
      await writer.abort()
      const empty = await store.createWriter()
      await empty.abort()
      assert.deepEqual(await listAll(store), [])
    })

    test('a write in progress is not a blob, and a restart drops it', async () => {
      const writer = await store.createWriter()
      await writer.write(Buffer.from('half a blob'))
      assert.deepEqual(await listAll(store), [])
      const kept = await put(store, Buffer.from('a whole blob'))
      const again = await subject.reopen()
      await again.open()
      assert.deepEqual(await listAll(again), [kept.sha256], 'only committed blobs survive a restart')
      await writer.abort()
    })

    test('removal and quarantine take a blob out of the store; removing twice is fine', async () => {
      const a = await put(store, Buffer.from('to remove'))
      const b = await put(store, Buffer.from('gone bad'))
      const c = await put(store, Buffer.from('kept'))
      await store.remove(a.sha256)
      await store.remove(a.sha256)
      await store.quarantine(b.sha256)
      assert.deepEqual(await listAll(store), [c.sha256])
      assert.equal(await store.size(b.sha256), undefined)
      assert.ok((await store.modified(c.sha256)) !== undefined)
      assert.equal(await store.modified(a.sha256), undefined)
      assert.ok((await store.freeBytes()) > 0)
    })

    test('writing after commit is refused, and so is a second commit', async () => {
      const writer = await store.createWriter()
      await writer.write(Buffer.from('x'))
      await writer.commit()
      await assert.rejects(writer.write(Buffer.from('y')))
      await assert.rejects(writer.commit())
    })
  })
}
