// The memory governor: a long transfer of fresh buffers is collected as it goes, on one schedule per
// process however many streams of a path report the same bytes, so neither the bytes in flight nor
// the collector's time grow with the transfer. A command collects the young generation every 16 MiB
// reported (every 4 MiB while it receives into block buffers), a server (boundHeap) every 2 MiB, and either collects the whole heap only when buffer
// memory has grown past its limit, as it does when chunks are held long enough to outlive young
// collections.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { getHeapStatistics } from 'node:v8'
import { boundedMemory, boundHeap, governorCounts, receivingPace } from '../../src/streams/bounded-memory.ts'

const MiB = 1024 * 1024

/**
 * 256 MiB of fresh buffers through two guards, the sink keeping the last `held` bytes of them (as a
 * block being checked or a write buffer does): the collections it took, and peak buffer memory.
 */
async function transfer(held = 0): Promise<{ minor: number; major: number; peak: number }> {
  const before = governorCounts()
  const chunk = 64 * 1024
  let peak = 0
  let left = 256 * MiB
  const kept: Buffer[] = []
  const source = new Readable({
    read() {
      if (left === 0) return this.push(null)
      left -= chunk
      // A fresh buffer each time, as a socket or a file read gives.
      this.push(Buffer.alloc(chunk, left & 0xff))
    },
  })
  const sink = new Writable({
    write(data: Buffer, _encoding, callback) {
      kept.push(data)
      if (kept.length * chunk > held) kept.shift()
      peak = Math.max(peak, getHeapStatistics().external_memory)
      callback()
    },
  })
  // Two streams of one path report the same bytes, as a CLI's download and its block check do.
  await pipeline(source, boundedMemory(), boundedMemory(), sink)
  const after = governorCounts()
  return { minor: after.minor - before.minor, major: after.major - before.major, peak }
}

test('a command: one schedule for two guards, young collections every 16 MiB, bounded memory', async () => {
  const { minor, major, peak } = await transfer()
  // 512 MiB reported: a collection every 16 MiB of it, not a schedule for each stream.
  assert.ok(minor + major >= 30 && minor + major <= 34, `${minor} young and ${major} full collections`)
  assert.ok(major <= 2, `${major} full collections: chunks that die young need none`)
  assert.ok(peak < 96 * MiB, `buffer memory peaked at ${(peak / MiB).toFixed(0)} MiB`)
})

test('a command: chunks held past young collections bring full ones, and memory stays bounded', async () => {
  // 24 MiB held: every chunk outlives young collections and is freed only by a full one, which
  // comes when buffer memory passes 32 MiB over what the last one left (V8 makes some of its own).
  const held = await transfer(24 * MiB)
  assert.ok(held.major >= 1, `${held.major} full collections with chunks held`)
  assert.ok(held.peak < 128 * MiB, `buffer memory peaked at ${(held.peak / MiB).toFixed(0)} MiB`)
})

test('a command that receives into block buffers: young every 4 MiB reported', async () => {
  receivingPace()
  const { minor, major } = await transfer()
  assert.ok(minor + major >= 126 && minor + major <= 130, `${minor} young and ${major} full collections`)
})

test('a server: young every 2 MiB reported, no full ones for chunks that die young, bounded memory', async () => {
  boundHeap()
  const { minor, major, peak } = await transfer()
  // 512 MiB reported: a collection every 2 MiB, not a schedule for each stream that reports them.
  assert.ok(minor + major >= 254 && minor + major <= 258, `${minor} young and ${major} full collections`)
  assert.ok(major <= 2, `${major} full collections: chunks that die young need none`)
  assert.ok(peak < 128 * MiB, `buffer memory peaked at ${(peak / MiB).toFixed(0)} MiB`)
})

test('a server: chunks held past young collections, and memory stays bounded', async () => {
  // Freed by full collections, the governor's when buffer memory passes its limit or V8's own.
  const held = await transfer(24 * MiB)
  assert.ok(held.peak < 128 * MiB, `buffer memory peaked at ${(held.peak / MiB).toFixed(0)} MiB`)
})
