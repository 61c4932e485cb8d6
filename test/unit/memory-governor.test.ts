// The memory governor: a long transfer of fresh buffers is collected as it goes, on one schedule per
// process however many streams of a path report the same bytes, so neither the bytes in flight nor
// the collector's time grow with the transfer. A command collects the young generation every 16 MiB
// reported and the whole heap only when buffer memory passes its limit; a server (boundHeap) also
// collects young every 8 MiB and the whole heap every 32 MiB.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { getHeapStatistics } from 'node:v8'
import { boundedMemory, boundHeap, governorCounts } from '../../src/streams/bounded-memory.ts'

const MiB = 1024 * 1024

/** 256 MiB of fresh buffers through two guards: the collections it took, and peak buffer memory. */
async function transfer(): Promise<{ minor: number; major: number; peak: number }> {
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
  return { minor: after.minor - before.minor, major: after.major - before.major, peak }
}

test('a command: one schedule for two guards, young collections only, and bounded memory', async () => {
  const { minor, major, peak } = await transfer()
  // 512 MiB reported: a young collection every 16 MiB of it, not a schedule for each stream.
  assert.ok(minor + major >= 30 && minor + major <= 34, `${minor} young and ${major} full collections`)
  assert.ok(major <= 2, `${major} full collections: chunks that die young need none`)
  assert.ok(peak < 128 * MiB, `buffer memory peaked at ${(peak / MiB).toFixed(0)} MiB`)
})

test('a server: young every 8 MiB reported, whole every 32 MiB, and bounded memory', async () => {
  boundHeap()
  const { minor, major, peak } = await transfer()
  // A collection every 8 MiB, a full one every 32 MiB (a few more if buffer memory ran ahead).
  assert.ok(minor + major >= 60 && minor + major <= 66, `${minor} young and ${major} full collections`)
  assert.ok(major >= 14 && major <= 24, `${major} full collections for 512 MiB reported`)
  assert.ok(peak < 128 * MiB, `buffer memory peaked at ${(peak / MiB).toFixed(0)} MiB`)
})
