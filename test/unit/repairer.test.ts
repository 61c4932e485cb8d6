// The repairer on a fake clock and a fake copier, over a real SQLite store: --repair-rate bounds the
// copies started per second however often passes run, a pass looks at a bounded window of
// candidates and the next one goes on from there, and the counts `dfs status` shows follow dead,
// draining and forgotten servers.

import { afterEach, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteMetadataStore } from '../../src/metadata/sqlite-store.ts'
import type { ServerView } from '../../src/protocol/types.ts'
import { Repairer, type CopyTask, type RepairConfig } from '../../src/roles/directory/repairer.ts'
import type { Clock, Random } from '../../src/server/clock.ts'

const PERMS = { owner: 'alice', group: 'users', mode: 0o664 }

function server(id: number, state: Partial<ServerView> = {}): ServerView {
  return { id, url: `https://fs${id}`, freeBytes: 1e12, lastHeartbeat: 0, live: true, ...state }
}

// Placement draws by weight of free space; any draw will do here.
const random: Random = { next: () => 0.5, token: () => 'token' }

describe('repairer', () => {
  let dir: string
  let store: SqliteMetadataStore
  let now: number
  const clock: Clock = { now: () => now }
  /** Every copy the fake copier was asked for, with the fake time it started. */
  let started: { name: string; at: number }[]

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-repairer-'))
    store = new SqliteMetadataStore(join(dir, 'metadata.sqlite'))
    now = 1_000_000
    started = []
  })
  afterEach(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  const commit = async (name: string, holders: number[]) => {
    await store.commit(
      {
        name,
        expectedVersion: 0,
        sha256: 'a'.repeat(64),
        size: 10,
        primary: holders[0] ?? 1,
        holders,
        writer: 'alice',
        perms: PERMS,
      },
      now,
    )
  }

  const repairer = (
    servers: ServerView[],
    config: Partial<RepairConfig> = {},
    copy: (task: CopyTask) => Promise<void> = async () => undefined,
  ) =>
    new Repairer({
      store,
      servers: async () => servers,
      config: { replicas: 2, ratePerSecond: 5, ...config },
      clock,
      random,
      copy: async (task) => {
        started.push({ name: task.name, at: now })
        await copy(task)
      },
      log: { warn: () => undefined },
      // Waiting for the rate's tokens moves the fake clock on.
      sleep: async (ms) => void (now += ms),
    })

  test('--repair-rate bounds the copies started per second across passes, however often they run', async () => {
    for (let i = 0; i < 20; i++) await commit(`f/${String(i).padStart(2, '0')}`, [1])
    const r = repairer([server(1), server(2), server(3)])
    assert.equal((await r.pass()).copied, 5, 'a second of copies at first')
    assert.equal((await r.pass()).copied, 0, 'a second pass at the same moment starts none')
    now += 200
    assert.equal((await r.pass()).copied, 1, 'a fifth of a second later, one')
    now += 60_000
    assert.equal((await r.pass()).copied, 5, 'a quiet minute saves up one second of copies, no more')
    assert.equal(r.status.underReplicated, 9)

    // Copies that take a second each: one pass goes on starting them, at the rate.
    const slow = repairer([server(1), server(2), server(3)], {}, async () => void (now += 1000))
    now += 60_000
    const first = now
    assert.equal((await slow.pass()).copied, 9)
    assert.deepEqual(
      started.slice(-9).map((s) => s.at - first),
      [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000],
    )
    assert.equal((await store.underReplicated(2, [], undefined, 100)).length, 0, 'all repaired')
    assert.deepEqual(await slow.plan(), [])
  })

  test('with a rate of 1 a second, a burst of wake-up passes starts one copy a second', async () => {
    for (let i = 0; i < 10; i++) await commit(`w/${i}`, [1])
    const r = repairer([server(1), server(2)], { ratePerSecond: 1 })
    for (let step = 0; step < 50; step++) {
      await r.pass()
      now += 100
    }
    // 5 seconds of fake time: the first copy at once, then one a second.
    assert.deepEqual(
      started.map((s) => s.at - 1_000_000),
      [0, 1000, 2000, 3000, 4000],
    )
  })

  test('a pass asked for (dfs repair) waits for the rate instead of leaving copies, and says what is left', async () => {
    for (let i = 0; i < 12; i++) await commit(`n/${String(i).padStart(2, '0')}`, [1])
    // And one whose only copy was on a dead server: nothing to copy from.
    await commit('n/lost', [3])
    const r = repairer([server(1), server(2), server(3, { live: false, dead: true })])
    // A background pass spends the second's tokens first.
    assert.equal((await r.pass()).copied, 5)
    const first = now
    const outcome = await r.runNow()
    assert.deepEqual([outcome.copied, outcome.failures, outcome.left], [7, [], 1])
    // The seven left, at 5 a second with no token saved: one every 200 ms.
    assert.deepEqual(
      started.slice(-7).map((s) => s.at - first),
      [200, 400, 600, 800, 1000, 1200, 1400],
    )
    assert.deepEqual(
      (await r.plan()).map((t) => [t.name, t.waiting]),
      [['n/lost', 'no copy left on a server that is not dead']],
    )
    assert.equal(r.status.underReplicated, 1)
  })

  test('a background pass woken during a pass asked for waits for it: no version is copied twice', async () => {
    for (let i = 0; i < 8; i++) await commit(`b/${i}`, [1])
    let woken = false
    const r = repairer([server(1), server(2), server(3)], { ratePerSecond: 100 }, async () => {
      if (woken) return
      woken = true
      // A server heartbeats back: a background pass is due in 100 ms (real time) while this one runs.
      r.wake()
      await new Promise((resolve) => setTimeout(resolve, 300))
    })
    r.start(3_600_000)
    try {
      assert.equal((await r.runNow()).copied, 8)
      await new Promise((resolve) => setTimeout(resolve, 300))
    } finally {
      await r.stop()
    }
    const names = started.map((s) => s.name)
    assert.deepEqual(names.toSorted(), [...new Set(names)].toSorted(), `copied twice: ${names.join(' ')}`)
    assert.equal(names.length, 8)
  })

  test('a pass looks at one window of candidates; the next goes on from there and wraps around', async () => {
    for (let i = 0; i < 10; i++) await commit(`p/${i}`, [1])
    await commit('p/ok', [1, 2])
    const r = repairer([server(1), server(2), server(3)], { ratePerSecond: 100, window: 3 }, async (t) => {
      if (t.name === 'p/1') throw new Error('source lost it')
    })
    const copied: number[] = []
    for (let i = 0; i < 5; i++) copied.push((await r.pass()).copied)
    assert.deepEqual(copied, [2, 3, 3, 1, 0], 'three looked at a pass; p/1 fails')
    assert.deepEqual(
      started.map((s) => s.name),
      ['p/0', 'p/1', 'p/2', 'p/3', 'p/4', 'p/5', 'p/6', 'p/7', 'p/8', 'p/9', 'p/1'],
      'each once a round, the failing one too: it holds up nothing',
    )
    assert.equal(r.status.failed, 2)
    assert.deepEqual(
      (await r.plan()).map((t) => t.name),
      ['p/1'],
    )
  })

  test('counts and plan: copies on dead, draining and forgotten servers do not count', async () => {
    const servers = [
      server(1),
      server(2),
      server(3, { live: false, dead: true }),
      server(4, { draining: true }),
    ]
    await commit('fine', [1, 2])
    await commit('fine-with-draining', [1, 2, 4])
    await commit('on-dead', [1, 3])
    await commit('on-draining', [2, 4])
    await commit('only-draining', [4])
    await commit('only-dead', [3])
    // Server 5 was removed from the directory, its copies not yet dropped.
    await commit('on-forgotten', [1, 5])
    await commit('only-forgotten', [5])
    const r = repairer(servers)
    await r.count()
    assert.deepEqual([r.status.underReplicated, r.status.lost], [6, 2])

    const plan = await r.plan()
    assert.deepEqual([r.status.underReplicated, r.status.lost], [6, 2])
    assert.deepEqual(
      plan.map((t) => [t.name, t.copies, t.source?.id, t.waiting]),
      [
        ['only-dead', [], undefined, 'no copy left on a server that is not dead'],
        ['only-draining', [], 4, undefined],
        ['only-forgotten', [], undefined, 'no copy left on a server that is not dead'],
        ['on-dead', [1], 1, undefined],
        ['on-draining', [2], 2, undefined],
        ['on-forgotten', [1], 1, undefined],
      ],
      'most endangered first',
    )
    for (const t of plan)
      if (t.target) assert.ok([1, 2].includes(t.target.id), `${t.name} goes to a good server`)

    // The one copy of only-draining that counts is not yet two: it stays short.
    assert.equal((await r.pass()).copied, 4)
    assert.deepEqual([r.status.underReplicated, r.status.lost], [3, 2])
    await r.count()
    assert.deepEqual([r.status.underReplicated, r.status.lost], [3, 2])
    assert.deepEqual((await store.getFile('on-dead'))?.holders.length, 2)
  })
})
