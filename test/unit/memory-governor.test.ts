// The memory governor: a long transfer of fresh buffers is collected as it goes, the young
// generation every 8 MiB and the whole heap every 32 MiB of the process's traffic (or when buffer
// memory passes its limit), however many streams of a path report the same bytes, so neither the
// bytes in flight nor the collector's time grow with the transfer.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { getHeapStatistics } from 'node:v8'
import { boundedMemory, governorCounts } from '../../src/streams/bounded-memory.ts'

const MiB = 1024 * 1024

test('256 MiB of fresh buffers through two guards: one schedule, not two, and bounded memory', async () => {
  const before = governorCounts()
  const chunk = 64 * 1024
  let peak = 0
  let left = 256 * MiB
  const source = new Readable({
    read() {
      if (left === 0) return this.push(null)
      left -= chunk
      // A fresh buffer each time, as a socket or a file read gives.
      this.push(Buffer.alloc(chunk, left & 0xff))
    },
  })
  const sink = new Writable({
    write(_chunk: Buffer, _encoding, callback) {
      peak = Math.max(peak, getHeapStatistics().external_memory)
      callback()
    },
  })
  // Two streams of one path report the same bytes, as a CLI's download and its block check do.
  await pipeline(source, boundedMemory(), boundedMemory(), sink)
  const after = governorCounts()
  const minor = after.minor - before.minor
  const major = after.major - before.major
  // 512 MiB reported: a collection every 8 MiB of it, a full one every 32 MiB (a few more if buffer
  // memory ran ahead), not a schedule for each stream that reports them.
  assert.ok(minor + major >= 60 && minor + major <= 66, `${minor} young and ${major} full collections`)
  assert.ok(major >= 14 && major <= 24, `${major} full collections for 512 MiB reported`)
  assert.ok(peak < 128 * MiB, `buffer memory peaked at ${(peak / MiB).toFixed(0)} MiB`)
})
