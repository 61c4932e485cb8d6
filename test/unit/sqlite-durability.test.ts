// The embedded store fsyncs its write-ahead log itself, after SQLite's COMMIT (synchronous=NORMAL):
// a commit must not be answered, nor reach the change feed, nor let settled() through, before the
// fsync that covers it is done; commits made while one fsync runs share the next; a failed fsync
// fails every write waiting for it and every write after. The fsync is held in a gate here, so each
// step can be seen; the real fdatasync is what runs in every other test and in the directory.

import { afterEach, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as turn } from 'node:timers/promises'
import { SqliteMetadataStore } from '../../src/metadata/sqlite-store.ts'
import { version } from '../helpers/versions.ts'

/** An fsync that completes (or fails) only when the test says. */
class Gate {
  calls = 0
  private waiting: { resolve: () => void; reject: (error: Error) => void }[] = []
  readonly sync = (_fd: number) =>
    new Promise<void>((resolve, reject) => {
      this.calls++
      this.waiting.push({ resolve, reject })
    })
  open(): void {
    for (const w of this.waiting.splice(0)) w.resolve()
  }
  fail(error: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(error)
  }
  get held(): number {
    return this.waiting.length
  }
}

describe('the embedded store and its own fsync of the log', () => {
  let dir: string
  let store: SqliteMetadataStore
  let gate: Gate
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-durable-'))
    gate = new Gate()
    store = new SqliteMetadataStore(join(dir, 'metadata.sqlite'), { syncLog: gate.sync })
  })
  afterEach(async () => {
    gate.open()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  const put = (name: string) => store.commit(version(name), 1)

  const state = <T>(promise: Promise<T>) => {
    const seen = { settled: false, ok: false, error: undefined as unknown }
    promise.then(
      () => Object.assign(seen, { settled: true, ok: true }),
      (error: unknown) => Object.assign(seen, { settled: true, error }),
    )
    return seen
  }

  test('a commit is answered, and reaches the feed, only once its fsync is done', async () => {
    const before = await store.changeBounds()
    const first = state(put('a.txt'))
    await turn()
    await turn()
    assert.equal(gate.held, 1, 'the commit waits for one fsync')
    assert.equal(first.settled, false, 'not answered before the fsync')
    assert.deepEqual(await store.changesSince(0, 10), [], 'the feed stops short of it')
    assert.equal((await store.changeBounds()).last, before.last)
    const settled = state(store.settled())
    await turn()
    assert.equal(settled.settled, false, 'settled() waits for it too')
    gate.open()
    await turn()
    await turn()
    assert.equal(first.ok, true)
    assert.equal(settled.ok, true)
    assert.deepEqual(
      (await store.changesSince(0, 10)).map((c) => c.name),
      ['a.txt'],
    )
  })

  test('commits made while an fsync runs share the next one', async () => {
    const first = state(put('one.txt'))
    await turn()
    await turn()
    assert.equal(gate.calls, 1)
    const later = ['two.txt', 'three.txt', 'four.txt'].map((name) => state(put(name)))
    await turn()
    await turn()
    assert.equal(gate.calls, 1, 'no second fsync while the first runs')
    gate.open()
    await turn()
    await turn()
    assert.equal(first.ok, true)
    assert.ok(
      later.every((s) => !s.settled),
      'the later ones wait for their own fsync',
    )
    assert.equal(gate.calls, 2, 'one more fsync covers all three')
    assert.equal((await store.changesSince(0, 10)).length, 1, 'only the first is in the feed')
    gate.open()
    await turn()
    await turn()
    assert.ok(later.every((s) => s.ok))
    assert.equal((await store.changesSince(0, 10)).length, 4)
  })

  test('a failed fsync fails the writes waiting for it and every write after', async () => {
    const waiting = state(put('lost.txt'))
    await turn()
    await turn()
    gate.fail(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))
    await turn()
    await turn()
    assert.equal(waiting.settled, true)
    assert.match(String(waiting.error), /metadata log could not be written.*EIO/)
    await assert.rejects(put('next.txt'), /metadata log could not be written/)
    assert.deepEqual(await store.changesSince(0, 10), [], 'nothing unsynced reaches the feed')
  })

  test('what was written reads back after the store is closed and opened again', async () => {
    const done = put('kept.txt')
    await turn()
    gate.open()
    await done
    await store.close()
    store = new SqliteMetadataStore(join(dir, 'metadata.sqlite'), { syncLog: gate.sync })
    assert.equal((await store.getFile('kept.txt'))?.name, 'kept.txt')
    assert.deepEqual(
      (await store.changesSince(0, 10)).map((c) => c.name),
      ['kept.txt'],
    )
  })

  test('where SQLite keeps no write-ahead log (here, in memory) commits are answered and fed as SQLite syncs them', async () => {
    const memory = new SqliteMetadataStore(':memory:', { syncLog: gate.sync })
    try {
      await memory.commit(version('in-memory.txt'), 1)
      assert.equal(gate.calls, 0, 'no fsync of a log that is not there')
      assert.deepEqual(
        (await memory.changesSince(0, 10)).map((c) => c.name),
        ['in-memory.txt'],
      )
      await memory.settled()
    } finally {
      await memory.close()
    }
  })
})
