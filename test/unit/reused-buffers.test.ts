// Sending a file through buffers used again and again: every byte arrives as it is in the file,
// none changes while the sink is writing it, a file that ends early and a sink that goes away fail
// the send; a send that ends well frees its buffers at once.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { BUFFER_SIZE, sendFileRange, type OpenedFile } from '../../src/streams/reused-buffers.ts'
import { slowSink } from '../helpers/slow-sink.ts'

const content = randomBytes(2 * BUFFER_SIZE + 12345)

/** `bytes` as an open file; reads come back in pieces of at most `piece` bytes, as a disk's may. */
function file(bytes: Buffer, piece = Infinity): OpenedFile & { closed: number } {
  return {
    closed: 0,
    read: async (buffer, length, position) =>
      bytes.copy(buffer, 0, position, Math.min(bytes.length, position + Math.min(length, piece))),
    async close() {
      this.closed++
    },
  }
}

describe('sending a file through reused buffers', () => {
  test('whole and in ranges, every byte as in the file and none changed under a write', async () => {
    for (const [range, piece] of [
      [{ start: 0, end: content.length }, Infinity],
      [{ start: 0, end: content.length }, 100_000],
      [{ start: BUFFER_SIZE - 1, end: BUFFER_SIZE + 1 }, Infinity],
      [{ start: 7, end: 7 }, Infinity],
    ] as const) {
      const out = slowSink()
      await sendFileRange(file(content, piece), range, out.sink)
      assert.ok(out.bytes().equals(content.subarray(range.start, range.end)), JSON.stringify(range))
      assert.equal(out.changedUnderWrite(), 0)
    }
  })

  test("a send that ends well frees its buffers' memory at once, not at some later collection", async () => {
    const held: Buffer[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        held.push(chunk)
        callback()
      },
    })
    const before = process.memoryUsage().arrayBuffers
    await sendFileRange(file(content), { start: 0, end: content.length }, sink)
    // The chunks written were views of the send's buffers: their memory is gone.
    assert.ok(held.length > 0)
    assert.ok(held.every((chunk) => chunk.length === 0))
    assert.ok(process.memoryUsage().arrayBuffers - before < BUFFER_SIZE)
  })

  test('a file that ends before the range does fails the send, after only its own bytes', async () => {
    const out = slowSink()
    const short = content.subarray(0, BUFFER_SIZE + 10)
    await assert.rejects(
      sendFileRange(file(short), { start: 0, end: content.length }, out.sink),
      new RegExp(`the file ends at byte ${BUFFER_SIZE + 10}`),
    )
    // The first buffer went; the second was short, so none of it.
    await new Promise((resolve) => out.sink.end(resolve))
    assert.ok(out.bytes().equals(content.subarray(0, BUFFER_SIZE)))
  })

  test('a sink that goes away fails the send', async () => {
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        setTimeout(() => sink.destroy(), 1)
        setTimeout(callback, 50)
      },
    })
    await assert.rejects(sendFileRange(file(content), { start: 0, end: content.length }, sink), /went away/)
  })
})
