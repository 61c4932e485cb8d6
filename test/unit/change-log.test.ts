// The directory's change feed (ChangeLog) over a real store: a subscriber from now gets where the
// feed stands and then every change once, in order; one resuming after a number first gets what it
// missed, from the store, even while changes keep coming; one asking for changes no longer kept (or
// from another feed) is told to resync.

import { afterEach, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteMetadataStore } from '../../src/metadata/sqlite-store.ts'
import type { StoredChange } from '../../src/metadata/store.ts'
import { ChangeLog, type FeedSink } from '../../src/roles/directory/change-log.ts'
import { eventually } from '../helpers/eventually.ts'
import { version } from '../helpers/versions.ts'

describe('ChangeLog', () => {
  let dir: string
  let store: SqliteMetadataStore
  let feed: ChangeLog
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-feed-'))
    store = new SqliteMetadataStore(join(dir, 'metadata.sqlite'))
    feed = new ChangeLog(store)
  })
  afterEach(async () => {
    feed.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  const put = (name: string) => store.commit(version(name), 1)

  function recorder(): FeedSink & { seen: string[]; changes: StoredChange[] } {
    const seen: string[] = []
    const changes: StoredChange[] = []
    return {
      seen,
      changes,
      change: (c) => {
        changes.push(c)
        seen.push(`${c.seq} ${c.name}`)
      },
      position: (seq) => seen.push(`position ${seq}`),
      resync: (seq) => seen.push(`resync ${seq}`),
    }
  }

  test('from now: the position, then each change once and in order', async () => {
    await put('before')
    const sink = recorder()
    const unsubscribe = feed.subscribe(undefined, sink)
    await eventually('the position', async () => sink.seen.length > 0)
    for (const name of ['a', 'b', 'c']) await put(name)
    await eventually('three changes', async () => sink.changes.length === 3)
    assert.deepEqual(sink.seen, ['position 1', '2 a', '3 b', '4 c'])
    unsubscribe()
    await put('after')
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(sink.changes.length, 3)
  })

  test('resuming after a number: what was missed comes first, then live changes, none twice', async () => {
    for (let i = 1; i <= 2500; i++) await put(`n${String(i).padStart(4, '0')}`)
    const sink = recorder()
    feed.subscribe(1000, sink)
    // Changes keep coming while it catches up (more than one page).
    for (let i = 1; i <= 20; i++) await put(`late${i}`)
    await eventually('every change after 1000', async () => sink.changes.length === 1520)
    assert.equal(sink.seen[0], 'position 1000')
    assert.deepEqual(
      sink.changes.map((c) => c.seq),
      Array.from({ length: 1520 }, (_, i) => 1001 + i),
    )
  })

  test('resuming after changes no longer kept, or from a number past the newest: resync', async () => {
    for (let i = 1; i <= 10; i++) await put(`p${i}`)
    await store.pruneChanges(3)
    const old = recorder()
    feed.subscribe(2, old)
    const future = recorder()
    feed.subscribe(99, future)
    // The oldest still kept is 8: after 7 is whole.
    const whole = recorder()
    feed.subscribe(7, whole)
    await eventually(
      'all three answered',
      async () => old.seen.length && future.seen.length && whole.changes.length === 3,
    )
    await put('next')
    await eventually('the next change', async () => old.changes.length === 1 && future.changes.length === 1)
    assert.deepEqual(old.seen, ['resync 10', '11 next'])
    assert.deepEqual(future.seen, ['resync 10', '11 next'])
    assert.deepEqual(whole.seen, ['position 7', '8 p8', '9 p9', '10 p10', '11 next'])
  })
})
