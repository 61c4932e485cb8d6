// The proxy's pool of placements for new small files: each used once, refilled in the background
// when low, given up on once stale, and never handing out a server found unreachable.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { PlacementPool } from '../../src/roles/proxy/placement-pool.ts'
import type { PlacementBatch, ServerView } from '../../src/protocol/types.ts'

const server = (id: number) => ({ id, url: `https://127.0.0.1:${6000 + id}` }) as ServerView

test('placements are used once, refilled when low, dropped when stale or on an unreachable server', async () => {
  let now = 0
  const asked: number[] = []
  let failing = false
  const pool = new PlacementPool({
    clock: { now: () => now },
    fetch: async (_size, count): Promise<PlacementBatch> => {
      asked.push(count)
      if (failing) throw new Error('directory away')
      return {
        wanted: 2,
        placements: Array.from({ length: count }, (_, i) => ({
          primary: server(1 + (i % 3)),
          replicas: [server(1 + ((i + 1) % 3))],
        })),
      }
    },
  })
  assert.equal(pool.take(), undefined, 'empty at first: the write asks the directory itself')
  await tick()
  assert.equal(asked.length, 1)
  const first = pool.take()
  assert.equal(first?.wanted, 2)
  const seen = new Set<unknown>([first])
  for (let i = 0; i < 20; i++) seen.add(pool.take())
  assert.equal(seen.size, 21, 'each placement once')
  assert.equal(asked.length, 1, 'not low yet')

  pool.avoid(2)
  for (let next = pool.take(); next; next = pool.take()) {
    assert.ok(next.primary.id !== 2 && next.replicas.every((r) => r.id !== 2))
    if (asked.length > 1) break
  }
  assert.equal(asked.length, 2, 'refilled once low')
  await tick()

  now += 60_000
  failing = true
  assert.equal(pool.take(), undefined, 'a stale batch is not used')
  await tick()
  assert.equal(pool.take(), undefined, 'nor is anything while the directory is away')
})
