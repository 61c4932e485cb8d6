// Block lists: one sha256 per 4 MiB block, however the bytes are cut into chunks, none for a file of
// one block, a list that does not fit its file's size refused, and the longest list the directory
// keeps.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import {
  BLOCK_SIZE,
  BlockHasher,
  MAX_BLOCK_LIST_LENGTH,
  MAX_LISTED_BLOCKS,
  blockCount,
  blockDigests,
  blockSpan,
  keepsBlockList,
} from '../../src/protocol/blocks.ts'

const sha = (b: Buffer) => createHash('sha256').update(b).digest()

function listOf(bytes: Buffer, chunk: number): string | undefined {
  const hasher = new BlockHasher()
  for (let at = 0; at < bytes.length; at += chunk) hasher.update(bytes.subarray(at, at + chunk))
  return hasher.list()
}

describe('block lists', () => {
  test('one digest per block, whatever the chunking, the last block short', () => {
    const bytes = randomBytes(2 * BLOCK_SIZE + 12345)
    const expected = Buffer.concat([
      sha(bytes.subarray(0, BLOCK_SIZE)),
      sha(bytes.subarray(BLOCK_SIZE, 2 * BLOCK_SIZE)),
      sha(bytes.subarray(2 * BLOCK_SIZE)),
    ]).toString('base64')
    for (const chunk of [1000, 65536, BLOCK_SIZE, BLOCK_SIZE + 7, bytes.length])
      assert.equal(listOf(bytes, chunk), expected, `chunks of ${chunk}`)
    const file = { sha256: sha(bytes).toString('hex'), size: bytes.length, blocks: expected }
    const digests = blockDigests(file)
    assert.equal(digests.length, 3)
    assert.deepEqual(digests[2], sha(bytes.subarray(2 * BLOCK_SIZE)))
    assert.deepEqual(blockSpan(2, bytes.length), { start: 2 * BLOCK_SIZE, end: bytes.length })
  })

  test('a file of one block (or none) has no list: its digest is its sha256', () => {
    for (const size of [0, 1, BLOCK_SIZE]) {
      const bytes = randomBytes(size)
      assert.equal(listOf(bytes, 4096), undefined, `size ${size}`)
      assert.equal(blockCount(size), 1)
      const sha256 = sha(bytes).toString('hex')
      assert.deepEqual(blockDigests({ sha256, size }), [Buffer.from(sha256, 'hex')])
    }
    assert.equal(blockCount(BLOCK_SIZE + 1), 2)
  })

  test('the directory keeps lists up to MAX_LISTED_BLOCKS blocks, and the longest fits its length', () => {
    assert.equal(keepsBlockList(BLOCK_SIZE), false, 'one block: no list at all')
    assert.equal(keepsBlockList(BLOCK_SIZE + 1), true)
    assert.equal(keepsBlockList(MAX_LISTED_BLOCKS * BLOCK_SIZE), true)
    assert.equal(keepsBlockList(MAX_LISTED_BLOCKS * BLOCK_SIZE + 1), false, 'one block more: none')
    const longest = Buffer.alloc(MAX_LISTED_BLOCKS * 32).toString('base64')
    assert.equal(longest.length, MAX_BLOCK_LIST_LENGTH)
  })

  test('a list that does not fit its size is refused', () => {
    const sha256 = 'a'.repeat(64)
    const two = Buffer.alloc(64, 1).toString('base64')
    assert.throws(
      () => blockDigests({ sha256, size: 3 * BLOCK_SIZE, blocks: two }),
      /DFS_BAD_REQUEST|3 sha256/,
    )
    assert.throws(() => blockDigests({ sha256, size: 2 * BLOCK_SIZE }), /missing/)
    assert.throws(() => blockDigests({ sha256, size: 10, blocks: two }), /one-block/)
    assert.throws(() => blockDigests({ sha256, size: 2 * BLOCK_SIZE, blocks: `${two}!` }), /2 sha256/)
    assert.equal(blockDigests({ sha256, size: 2 * BLOCK_SIZE, blocks: two }).length, 2)
  })
})
