// The proxy's verified read: every block checked before it goes on, a bad or broken source replaced
// by the next from that block's start (a Range), exact byte ranges, the cache copy fed only good
// blocks, and versions without a list checked whole; a send (from the cache's file or from the file
// servers' streams) goes through buffers of its own, never changed while a write of them is under way.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { BLOCK_SIZE, BlockHasher, blockDigests } from '../../src/protocol/blocks.ts'
import {
  openVerified,
  type BlockCopy,
  type BlockSource,
  type OpenedRead,
} from '../../src/roles/proxy/block-reader.ts'
import type { ByteRange } from '../../src/streams/block-check.ts'
import { slowSink } from '../helpers/slow-sink.ts'

const content = randomBytes(3 * BLOCK_SIZE + 1000)
const sha256 = createHash('sha256').update(content).digest('hex')
const hasher = new BlockHasher()
hasher.update(content)
const blocks = hasher.list()
const digests = blockDigests({ sha256, size: content.length, blocks })

interface Fake extends BlockSource {
  opened: ByteRange[]
  reported: number
}

/** A source of `content` in 64 KiB chunks; `corruptAt` flips a byte there, `failAt` breaks the stream there. */
function source(
  from: number | 'cache',
  options: { corruptAt?: number; failAt?: number; refuse?: boolean } = {},
): Fake {
  const fake: Fake = {
    from,
    opened: [],
    reported: 0,
    bad: () => void fake.reported++,
    open: async (range) => {
      fake.opened.push(range)
      if (options.refuse) throw new Error('connection refused')
      return Readable.from(
        (async function* () {
          for (let at = range.start; at < range.end; at += 65536) {
            const chunk = Buffer.from(content.subarray(at, Math.min(range.end, at + 65536)))
            if (options.failAt !== undefined && options.failAt >= at && options.failAt < at + chunk.length)
              throw new Error('connection reset')
            if (
              options.corruptAt !== undefined &&
              options.corruptAt >= at &&
              options.corruptAt < at + chunk.length
            )
              chunk[options.corruptAt - at]! ^= 1
            yield chunk
          }
        })(),
      )
    },
  }
  return fake
}

async function collect(body: Readable): Promise<{ bytes: Buffer; error?: Error }> {
  const parts: Buffer[] = []
  try {
    for await (const chunk of body) parts.push(chunk as Buffer)
    return { bytes: Buffer.concat(parts) }
  } catch (error) {
    return { bytes: Buffer.concat(parts), error: error as Error }
  }
}

const whole = { name: 'f', sha256, size: content.length, digests, range: { start: 0, end: content.length } }

describe('verified reads', () => {
  test('good bytes from the first source, opened once', async () => {
    const a = source(1)
    const b = source(2)
    const { body, from } = await openVerified(whole, [a, b])
    const { bytes, error } = await collect(body)
    assert.equal(error, undefined)
    assert.ok(bytes.equals(content))
    assert.equal(from, 1)
    assert.deepEqual(a.opened, [{ start: 0, end: content.length }])
    assert.equal(b.opened.length, 0)
  })

  // Read as a stream (body) or sent through buffers of the read's own (send): the same failover.
  const readers = {
    streamed: (opened: OpenedRead) => collect(opened.body),
    sent: (opened: OpenedRead) => sent(opened),
  }
  for (const [how, readAll] of Object.entries(readers)) {
    test(`a bad block is never passed on: it and the rest come from the next source, by Range (${how})`, async () => {
      const a = source('cache', { corruptAt: 2 * BLOCK_SIZE + 5 })
      const b = source(2)
      const { bytes, error } = await readAll(await openVerified(whole, [a, b]))
      assert.equal(error, undefined)
      assert.ok(bytes.equals(content))
      assert.equal(a.reported, 1)
      assert.deepEqual(b.opened, [{ start: 2 * BLOCK_SIZE, end: content.length }])
    })

    test(`a source that breaks mid-block is replaced from that block, and not reported (${how})`, async () => {
      const a = source(1, { failAt: BLOCK_SIZE + 70000 })
      const b = source(3)
      const { bytes, error } = await readAll(await openVerified(whole, [a, b]))
      assert.equal(error, undefined)
      assert.ok(bytes.equals(content))
      assert.equal(a.reported, 0)
      assert.deepEqual(b.opened, [{ start: BLOCK_SIZE, end: content.length }])
    })
  }

  test('when every source is bad the read fails, having passed on only good blocks', async () => {
    const a = source(1, { corruptAt: BLOCK_SIZE + 1 })
    const b = source(2, { corruptAt: BLOCK_SIZE + 2 })
    const { body } = await openVerified(whole, [a, b])
    const { bytes, error } = await collect(body)
    assert.match(String(error), /DFS_CORRUPT|good bytes/)
    assert.equal(bytes.length, BLOCK_SIZE)
    assert.ok(bytes.equals(content.subarray(0, BLOCK_SIZE)))
    assert.equal(a.reported + b.reported, 2)
  })

  test('no source answers: the open itself fails, before any byte is promised', async () => {
    await assert.rejects(
      openVerified(whole, [source(1, { refuse: true }), source(2, { refuse: true })]),
      /refused/,
    )
  })

  test('a range is read from the blocks that hold it, and cut exactly', async () => {
    const a = source(1)
    for (const range of [
      { start: BLOCK_SIZE - 10, end: BLOCK_SIZE + 10 },
      { start: 5, end: 6 },
      { start: 3 * BLOCK_SIZE + 999, end: content.length },
    ]) {
      const { body } = await openVerified({ ...whole, range }, [a])
      const { bytes, error } = await collect(body)
      assert.equal(error, undefined)
      assert.ok(bytes.equals(content.subarray(range.start, range.end)), JSON.stringify(range))
    }
    assert.deepEqual(a.opened[0], { start: 0, end: 2 * BLOCK_SIZE })
    assert.deepEqual(a.opened[2], { start: 3 * BLOCK_SIZE, end: content.length })
  })

  test('the cache copy gets every good block and is finished; a reader that hangs up aborts it', async () => {
    const log: string[] = []
    let copied = 0
    const copy = (): BlockCopy => ({
      write: async (chunk) => void (copied += chunk.length),
      writeThrough: async () => {
        throw new Error('a read as a stream copies fresh chunks: no need to wait for each')
      },
      finish: async () => void log.push('finish'),
      abort: async () => void log.push('abort'),
    })
    const done = await openVerified({ ...whole, copy: copy() }, [source(1, { corruptAt: 7 }), source(2)])
    assert.ok((await collect(done.body)).bytes.equals(content))
    assert.equal(copied, content.length)
    const cut = await openVerified({ ...whole, copy: copy() }, [source(1)])
    for await (const _chunk of cut.body) break
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(log, ['finish', 'abort'])
  })

  test('a version without a block list is checked whole, and cut at the end if bad', async () => {
    const old = { ...whole, digests: undefined }
    assert.ok((await collect((await openVerified(old, [source(1)])).body)).bytes.equals(content))
    const a = source(1, { corruptAt: 10 })
    const { error } = await collect((await openVerified(old, [a])).body)
    assert.match(String(error), /do not match/)
    assert.equal(a.reported, 1)
  })
})

/** The bytes a read's send writes to a slow sink, and its error; fails if a buffer changed under a write. */
async function sent(opened: OpenedRead): Promise<{ bytes: Buffer; error?: Error }> {
  assert.ok(opened.send, 'a read with a block list can be sent')
  const out = slowSink()
  const error = await opened.send(out.sink).then(
    () => undefined,
    (failure: unknown) => failure as Error,
  )
  assert.equal(out.changedUnderWrite(), 0, 'a buffer was filled again while a write of it was under way')
  return { bytes: out.bytes(), ...(error ? { error } : {}) }
}

describe('verified reads from streams, sent through buffers of their own', () => {
  test('when every source is bad the send fails, having sent only good blocks', async () => {
    const a = source(1, { corruptAt: BLOCK_SIZE + 1 })
    const b = source(2, { corruptAt: BLOCK_SIZE + 2 })
    const out = slowSink()
    const error = await (
      await openVerified(whole, [a, b])
    ).send!(out.sink).catch((failure: unknown) => failure)
    assert.match(String(error), /good bytes/)
    await new Promise((resolve) => setTimeout(resolve, 100)) // the writes under way end
    assert.ok(out.bytes().equals(content.subarray(0, BLOCK_SIZE)))
    assert.equal(a.reported + b.reported, 2)
  })

  test('a range is cut exactly', async () => {
    for (const range of [
      { start: BLOCK_SIZE - 10, end: BLOCK_SIZE + 10 },
      { start: 5, end: 6 },
      { start: 3 * BLOCK_SIZE + 999, end: content.length },
    ]) {
      const { bytes, error } = await sent(await openVerified({ ...whole, range }, [source(1)]))
      assert.equal(error, undefined)
      assert.ok(bytes.equals(content.subarray(range.start, range.end)), JSON.stringify(range))
    }
  })

  test('the cache copy gets every good block, each unchanged until its write ends, and is finished', async () => {
    const log: string[] = []
    const copied: Buffer[] = []
    let changed = 0
    const copy: BlockCopy = {
      write: async () => {
        throw new Error('a send fills its buffers again: it must wait for each write to end')
      },
      writeThrough: async (chunk) => {
        const before = createHash('sha256').update(chunk).digest('hex')
        await new Promise((resolve) => setTimeout(resolve, 5))
        if (createHash('sha256').update(chunk).digest('hex') !== before) changed++
        copied.push(Buffer.from(chunk))
      },
      finish: async () => void log.push('finish'),
      abort: async () => void log.push('abort'),
    }
    const { bytes } = await sent(
      await openVerified({ ...whole, copy }, [source(1, { corruptAt: 7 }), source(2)]),
    )
    assert.ok(bytes.equals(content))
    assert.ok(Buffer.concat(copied).equals(content))
    assert.equal(changed, 0)
    assert.deepEqual(log, ['finish'])
  })

  test('a sink that goes away aborts the copy; a read never sent (a HEAD) frees its source and copy', async () => {
    const log: string[] = []
    const copy = (): BlockCopy => ({
      write: async () => undefined,
      writeThrough: async () => undefined,
      finish: async () => void log.push('finish'),
      abort: async () => void log.push('abort'),
    })
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        sink.destroy()
        callback()
      },
    })
    const cut = await openVerified({ ...whole, copy: copy() }, [source(1)])
    await assert.rejects(cut.send!(sink), /went away|premature/i)
    let destroyed = false
    const a = source(2)
    const open = a.open
    a.open = async (range) => {
      const stream = await open(range)
      stream.once('close', () => (destroyed = true))
      return stream
    }
    ;(await openVerified({ ...whole, copy: copy() }, [a])).body.destroy()
    await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepEqual(log, ['abort', 'abort'])
    assert.equal(destroyed, true)
  })
})

/** A file source (the cache) of `content`, or of a copy with one byte flipped at `corruptAt`. */
function fileSource(options: { corruptAt?: number; failRead?: boolean; refuse?: boolean } = {}) {
  const bytes = Buffer.from(content)
  if (options.corruptAt !== undefined) bytes[options.corruptAt]! ^= 1
  const fake = source('cache') as Fake & { files: number; closed: number }
  fake.files = 0
  fake.closed = 0
  fake.openFile = async () => {
    if (options.refuse) throw new Error('ENOENT')
    fake.files++
    return {
      read: async (buffer, length, position) => {
        if (options.failRead) throw new Error('EIO')
        return bytes.copy(buffer, 0, position, Math.min(bytes.length, position + length))
      },
      close: async () => void fake.closed++,
    }
  }
  return fake
}

describe('verified reads from a file source (the cache)', () => {
  test('sent through its own buffers: every byte as checked, none changed while being written', async () => {
    const cache = fileSource()
    const opened = await openVerified(whole, [cache, source(1)])
    assert.equal(opened.from, 'cache')
    assert.ok(opened.send)
    const out = slowSink()
    await opened.send(out.sink)
    assert.ok(out.bytes().equals(content))
    assert.equal(out.changedUnderWrite(), 0)
    assert.deepEqual([cache.files, cache.closed], [1, 1])
  })

  test('a range is cut exactly', async () => {
    for (const range of [
      { start: 5, end: 6 },
      { start: BLOCK_SIZE - 3, end: 2 * BLOCK_SIZE + 7 },
      { start: 3 * BLOCK_SIZE, end: content.length },
    ]) {
      const out = slowSink()
      await (
        await openVerified({ ...whole, range }, [fileSource()])
      ).send!(out.sink)
      assert.ok(out.bytes().equals(content.subarray(range.start, range.end)), JSON.stringify(range))
    }
  })

  test('a bad block is reported, never sent; it and the rest come from the next source, by Range', async () => {
    const cache = fileSource({ corruptAt: 2 * BLOCK_SIZE + 9 })
    const next = source(1)
    const out = slowSink()
    await (
      await openVerified(whole, [cache, next])
    ).send!(out.sink)
    assert.ok(out.bytes().equals(content))
    assert.equal(cache.reported, 1)
    assert.deepEqual(next.opened, [{ start: 2 * BLOCK_SIZE, end: content.length }])
    assert.equal(cache.closed, 1)
  })

  test('a file that cannot be read is left for the next source, not reported', async () => {
    const cache = fileSource({ failRead: true })
    const out = slowSink()
    await (
      await openVerified(whole, [cache, source(1)])
    ).send!(out.sink)
    assert.ok(out.bytes().equals(content))
    assert.equal(cache.reported, 0)
    // One that cannot be opened: the read starts at the next source, as a stream.
    const refused = await openVerified(whole, [fileSource({ refuse: true }), source(2)])
    assert.equal(refused.from, 2)
    assert.ok((await collect(refused.body)).bytes.equals(content))
    const resent = await openVerified(whole, [fileSource({ refuse: true }), source(2)])
    assert.ok((await sent(resent)).bytes.equals(content))
  })

  test('when no other source has good bytes the send fails, having sent only good blocks', async () => {
    const out = slowSink()
    const opened = await openVerified(whole, [fileSource({ corruptAt: BLOCK_SIZE + 1 })])
    await assert.rejects(opened.send!(out.sink), /no holder of f has good bytes/)
    assert.ok(out.bytes().equals(content.subarray(0, BLOCK_SIZE)))
  })

  test('read as a stream instead, or not at all, the file is closed', async () => {
    const read = fileSource()
    const opened = await openVerified(whole, [read])
    assert.ok((await collect(opened.body)).bytes.equals(content))
    const unread = fileSource()
    ;(await openVerified(whole, [unread])).body.destroy()
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual([read.closed, unread.closed], [1, 1])
  })

  test('a sink that goes away stops the send and closes the file', async () => {
    const cache = fileSource()
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        setTimeout(() => sink.destroy(), 1)
        setTimeout(callback, 50)
      },
    })
    await assert.rejects((await openVerified(whole, [cache])).send!(sink), /went away/)
    assert.equal(cache.closed, 1)
  })
})
