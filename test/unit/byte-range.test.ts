// Range headers: the three single-range forms, clamped to the file; several ranges or nonsense are
// ignored (the whole file); a start past the end is DFS_BAD_RANGE. And dfs get's widening of a
// range to whole blocks, and its check of each block.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { alignedRangeHeader } from '../../src/cli/block-checked.ts'
import { BLOCK_SIZE, BlockHasher, blockDigests } from '../../src/protocol/blocks.ts'
import { contentRange, rangeFlag, requestedRange } from '../../src/protocol/byte-range.ts'
import { checkedWriter } from '../../src/streams/checked-writer.ts'
import { slowPut } from '../helpers/slow-sink.ts'

describe('byte ranges', () => {
  test('the single-range forms, clamped to the file', () => {
    assert.deepEqual(requestedRange('bytes=0-9', 100), { start: 0, end: 10 })
    assert.deepEqual(requestedRange('bytes=90-', 100), { start: 90, end: 100 })
    assert.deepEqual(requestedRange('bytes=90-1000', 100), { start: 90, end: 100 })
    assert.deepEqual(requestedRange('bytes=-10', 100), { start: 90, end: 100 })
    assert.deepEqual(requestedRange('bytes=-1000', 100), { start: 0, end: 100 })
    assert.equal(contentRange({ start: 90, end: 100 }, 100), 'bytes 90-99/100')
  })

  test('several ranges, other units and nonsense mean the whole file', () => {
    for (const header of [
      'bytes=0-1,5-6',
      'items=0-1',
      'bytes=5-2',
      'bytes=-',
      'bytes=abc',
      'bytes=1.5-2',
      'bytes=0-1 junk',
    ])
      assert.equal(requestedRange(header, 100), undefined, header)
    assert.equal(requestedRange(undefined, 100), undefined)
    assert.deepEqual(requestedRange('BYTES= 1-2', 100), { start: 1, end: 3 })
    assert.equal(requestedRange('bytes=-5', 0), undefined, "an empty file's last bytes: all of it")
  })

  test('a range past the end cannot be satisfied', () => {
    for (const header of ['bytes=100-', 'bytes=100-200', 'bytes=-0', `bytes=${'9'.repeat(40)}-`])
      assert.throws(() => requestedRange(header, 100), /DFS_BAD_RANGE|outside/, header)
    assert.throws(() => requestedRange('bytes=0-', 0), /outside/)
  })

  test("dfs get's --range: checked, then widened to whole blocks", () => {
    assert.equal(rangeFlag('5-9'), 'bytes=5-9')
    for (const bad of ['5', 'a-b', '1-2-3', '', '-'])
      assert.throws(() => rangeFlag(bad), /DFS_USAGE|--range/, bad)
    assert.equal(alignedRangeHeader('5-9'), `bytes=0-${BLOCK_SIZE - 1}`)
    assert.equal(alignedRangeHeader(`${BLOCK_SIZE + 1}-`), `bytes=${BLOCK_SIZE}-`)
    assert.equal(alignedRangeHeader('-10', 2 * BLOCK_SIZE + 5), `bytes=${BLOCK_SIZE}-`)
    assert.equal(alignedRangeHeader('-10', 2 * BLOCK_SIZE + 50), `bytes=${2 * BLOCK_SIZE}-`)
  })

  test('a block check passes good blocks cut to the range, and stops at a bad one', async () => {
    const content = randomBytes(3 * BLOCK_SIZE + 10)
    const hasher = new BlockHasher()
    hasher.update(content)
    const sha256 = createHash('sha256').update(content).digest('hex')
    const digests = blockDigests({ sha256, size: content.length, blocks: hasher.list() })
    // Chunks of odd sizes, as a socket gives them, across block bounds; the writes take their time.
    const run = async (bytes: Buffer, range: { start: number; end: number }) => {
      const out = slowPut(2)
      const chunks = []
      for (let at = 0; at < bytes.length; at += 99_991) chunks.push(bytes.subarray(at, at + 99_991))
      await pipeline(Readable.from(chunks), checkedWriter(digests, content.length, range, 'f', out.put))
      assert.equal(out.changedUnderWrite(), 0, 'a buffer was filled again while it was being written')
      return out.bytes()
    }
    const range = { start: BLOCK_SIZE + 3, end: 3 * BLOCK_SIZE + 4 }
    const got = await run(content.subarray(BLOCK_SIZE), range)
    assert.ok(got.equals(content.subarray(range.start, range.end)))
    assert.ok((await run(content, { start: 0, end: content.length })).equals(content))
    const bad = Buffer.from(content)
    bad[2 * BLOCK_SIZE + 1]! ^= 1
    await assert.rejects(run(bad, { start: 0, end: content.length }), /DFS_CORRUPT|block 2/)
    await assert.rejects(
      run(content.subarray(0, BLOCK_SIZE), { start: 0, end: content.length }),
      /ended before block 1/,
    )
    await assert.rejects(
      run(content.subarray(0, 2 * BLOCK_SIZE), { start: 0, end: BLOCK_SIZE }),
      /more bytes of f came than were asked for/,
    )
  })

  test('a bad block is not written, not even the part of it that came first', async () => {
    const content = randomBytes(2 * BLOCK_SIZE)
    const hasher = new BlockHasher()
    hasher.update(content)
    const sha256 = createHash('sha256').update(content).digest('hex')
    const digests = blockDigests({ sha256, size: content.length, blocks: hasher.list() })
    const bad = Buffer.from(content)
    bad[content.length - 1]! ^= 1
    const out = slowPut(0)
    await assert.rejects(
      pipeline(
        Readable.from([bad]),
        checkedWriter(digests, content.length, { start: 0, end: content.length }, 'f', out.put),
      ),
      /block 1 of f does not match/,
    )
    await new Promise((resolve) => setTimeout(resolve, 50)) // the first block's write ends
    assert.ok(out.bytes().equals(content.subarray(0, BLOCK_SIZE)))
  })

  test('an empty file writes nothing and ends well', async () => {
    const digests = blockDigests({ sha256: createHash('sha256').digest('hex'), size: 0 })
    const out = slowPut(0)
    await pipeline(Readable.from([]), checkedWriter(digests, 0, { start: 0, end: 0 }, 'f', out.put))
    assert.equal(out.bytes().length, 0)
  })
})
