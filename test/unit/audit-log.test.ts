// The audit log on disk: one JSON line per event, private files, rotation at the size bound with
// the oldest files dropped, and reading back in order across the rotated files.

import { after, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat, writeFile, mkdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AuditLog, newest } from '../../src/roles/directory/audit-log.ts'
import type { AuditEntry } from '../../src/protocol/types.ts'

describe('the audit log', () => {
  let root: string
  let dir: string
  let now: number
  let warnings: string[]
  const clock = { now: () => now }
  const log = { warn: (_obj: object, msg: string) => void warnings.push(msg) }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'dfs-audit-'))
    dir = join(root, 'directory')
    now = Date.UTC(2026, 11, 1, 12, 0, 0)
    warnings = []
  })
  after(async () => {
    await rm(root, { recursive: true, force: true })
  })

  const all = async (audit: AuditLog, filter = {}) => {
    const entries: AuditEntry[] = []
    for await (const entry of audit.read(filter)) entries.push(entry)
    return entries
  }

  /** Records `count` writes by alice and bob in turn, a second apart, named f0, f1, ... */
  const writes = (audit: AuditLog, count: number, from = 0) => {
    for (let i = from; i < from + count; i++) {
      audit.record({ action: 'write', user: i % 2 ? 'bob' : 'alice', name: `f${i}`, outcome: 'ok' })
      now += 1000
    }
  }

  test('each event is one JSON line with its time, in a file only the directory may read', async () => {
    const audit = new AuditLog({ dir, clock, log })
    audit.record({ action: 'login', user: 'bob', client: '10.0.0.7', outcome: 'DFS_AUTH', detail: 'wrong' })
    await audit.close()
    const text = await readFile(audit.path, 'utf8')
    assert.deepEqual(
      text.split('\n').map((line) => (line ? JSON.parse(line) : line)),
      [
        {
          time: '2026-12-01T12:00:00.000Z',
          ms: now,
          action: 'login',
          user: 'bob',
          client: '10.0.0.7',
          outcome: 'DFS_AUTH',
          detail: 'wrong',
        },
        '',
      ],
    )
    assert.equal((await stat(audit.path)).mode & 0o777, 0o600)
    assert.equal((await stat(dir)).mode & 0o777, 0o700)
  })

  test('a file is rotated before it would pass the size bound; entries read back in order', async () => {
    const audit = new AuditLog({ dir, clock, log, maxBytes: 1000, keep: 3 })
    writes(audit, 200)
    await audit.flush()
    const files = (await readdir(dir)).sort()
    assert.deepEqual(files, ['audit.log', 'audit.log.1', 'audit.log.2', 'audit.log.3'])
    for (const file of files) {
      const info = await stat(join(dir, file))
      assert.ok(info.size <= 1000, `${file} is ${info.size} bytes`)
      // Full files were rotated: the next line would not have fitted.
      if (file !== 'audit.log') assert.ok(info.size > 1000 - 200, `${file} is ${info.size} bytes`)
      assert.equal(info.mode & 0o777, 0o600, file)
    }
    const read = await all(audit)
    const current = (await readFile(audit.path, 'utf8')).trim().split('\n').length
    assert.ok(read.length > current + 3 * 5, `${read.length} entries read across the files`)
    // The newest survive, contiguous and in order; the oldest went with the dropped files.
    assert.deepEqual(
      read.map((e) => e.name),
      Array.from({ length: read.length }, (_, i) => `f${200 - read.length + i}`),
    )
    await audit.close()
  })

  test('a log reopened after a restart goes on where it was, rotating at the same bound', async () => {
    const first = new AuditLog({ dir, clock, log, maxBytes: 1000, keep: 3 })
    writes(first, 3)
    await first.close()
    const second = new AuditLog({ dir, clock, log, maxBytes: 1000, keep: 3 })
    writes(second, 20, 3)
    await second.flush()
    assert.ok((await stat(second.path)).size <= 1000)
    assert.deepEqual(
      (await all(second)).map((e) => e.name),
      Array.from({ length: 23 }, (_, i) => `f${i}`),
    )
    await second.close()
  })

  test('entries are filtered by user and by time, across rotated files', async () => {
    const audit = new AuditLog({ dir, clock, log, maxBytes: 1000, keep: 5 })
    const start = now
    writes(audit, 20)
    const bobs = await all(audit, { user: 'bob' })
    assert.deepEqual(
      bobs.map((e) => e.name),
      ['f1', 'f3', 'f5', 'f7', 'f9', 'f11', 'f13', 'f15', 'f17', 'f19'],
    )
    const recent = await all(audit, { since: start + 15_000 })
    assert.deepEqual(
      recent.map((e) => e.name),
      ['f15', 'f16', 'f17', 'f18', 'f19'],
    )
    assert.deepEqual(
      (await all(audit, { user: 'alice', since: start + 15_000 })).map((e) => e.name),
      ['f16', 'f18'],
    )
    await audit.close()
  })

  test('a file made with other permissions is made private when opened', async () => {
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'audit.log'), '', { mode: 0o644 })
    const audit = new AuditLog({ dir, clock, log })
    writes(audit, 1)
    await audit.close()
    assert.equal((await stat(join(dir, 'audit.log'))).mode & 0o777, 0o600)
  })

  test('unreadable lines are skipped and said once; the rest reads', async () => {
    const audit = new AuditLog({ dir, clock, log })
    writes(audit, 1)
    await audit.close()
    await writeFile(audit.path, '{"cut off\nnot json\n', { flag: 'a' })
    const reopened = new AuditLog({ dir, clock, log })
    writes(reopened, 1, 1)
    assert.deepEqual(
      (await all(reopened)).map((e) => e.name),
      ['f0', 'f1'],
    )
    assert.deepEqual(warnings, ['2 unreadable lines in the audit log'])
    await reopened.close()
  })

  test('writes that fail are said once, not thrown; the log says how many were lost when back', async () => {
    // The directory's data dir is a file: nothing can be written under it.
    await writeFile(dir, 'in the way')
    const audit = new AuditLog({ dir, clock, log })
    writes(audit, 3)
    await audit.flush()
    writes(audit, 2, 3)
    await audit.flush()
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0]!, /^audit log not written: /)
    await rm(dir)
    writes(audit, 1, 5)
    await audit.flush()
    assert.deepEqual(warnings.slice(1), ['audit log written again; 5 entries were lost'])
    assert.deepEqual(
      (await all(audit)).map((e) => e.name),
      ['f5'],
    )
    await audit.close()
  })

  test('newest keeps the last entries in order, in bounded memory', async () => {
    async function* count(n: number) {
      for (let i = 0; i < n; i++) yield i
    }
    assert.deepEqual(await newest(count(10), 3), [7, 8, 9])
    assert.deepEqual(await newest(count(2), 3), [0, 1])
    assert.deepEqual(await newest(count(6), 3), [3, 4, 5])
    assert.deepEqual(await newest(count(0), 3), [])
  })
})
