// The delimited listing's walk over a store's index (metadata/child-walk.ts), on an index in memory
// that counts what it is asked for: a prefix one level down costs one seek past it, not a read of
// every name below it, and the walk matches what a scan of every name would list.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pastPrefix, walkChildren, type ChildReader, type NameRow } from '../../src/metadata/child-walk.ts'
import type { ChildEntry } from '../../src/metadata/store.ts'
import type { FileVersion } from '../../src/protocol/types.ts'

/** Byte order (as both SQL stores compare names), not JavaScript's UTF-16 order. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

function indexOf(files: string[], folders: string[] = []) {
  const rows: NameRow[] = [
    ...files.map((name) => ({ name, marker: false })),
    ...folders.map((name) => ({ name, marker: true })),
  ].toSorted((a, b) => byteOrder(a.name, b.name))
  const cost = { batches: 0, rows: 0 }
  const reader: ChildReader = {
    names: async (from, end, limit) => {
      cost.batches++
      const page = rows
        .filter((r) => {
          const c = byteOrder(r.name, from.name)
          return (from.inclusive ? c >= 0 : c > 0) && (end === undefined || byteOrder(r.name, end) < 0)
        })
        .slice(0, limit)
      cost.rows += page.length
      return page
    },
    markedBelow: async (prefix) => folders.some((f) => f.startsWith(prefix)),
    files: async (names) => names.map((name) => ({ name }) as FileVersion),
  }
  return { reader, cost }
}

const shown = (entries: ChildEntry[]) =>
  entries.map((e) => (e.kind === 'file' ? e.file.name : `${e.prefix}${e.marked ? '*' : ''}`))

test('a prefix with 5,000 names below it costs a seek past it, not a read of every name', async () => {
  const below = Array.from({ length: 5000 }, (_, i) => `a/b/${String(i).padStart(5, '0')}`)
  const { reader, cost } = indexOf(['a/x', ...below, 'a/c'])
  assert.deepEqual(shown(await walkChildren(reader, 'a/', 100)), ['a/b/', 'a/c', 'a/x'])
  assert.ok(cost.rows < 300, `${cost.rows} rows read`)
  assert.ok(cost.batches <= 3, `${cost.batches} batches`)
})

test('a page of prefixes costs a batch each at most, not the names below them', async () => {
  const names = Array.from({ length: 50 }, (_, d) =>
    Array.from({ length: 400 }, (_, i) => `t/${String(d).padStart(2, '0')}/${i}`),
  ).flat()
  const { reader, cost } = indexOf(names)
  const page = await walkChildren(reader, 't/', 20)
  assert.equal(page.length, 20)
  assert.ok(cost.batches <= 21, `${cost.batches} batches`)
  const rest = await walkChildren(reader, 't/', 100, 't/19/')
  assert.deepEqual(shown(rest).slice(0, 2), ['t/20/', 't/21/'])
  assert.equal(rest.length, 30)
})

test('the walk lists what a scan of every name would, cut into pages anywhere', async () => {
  const files = ['r', 'r/a', 'r/a/1', 'r/a/2', 'r/a.b', 'r/a0', 'r/b/c/d', 'r/\u{1F600}/x', 'r/\uFFEE', 'r/z']
  const folders = ['r/', 'r/e/', 'r/a/f/', 'r/g/h/']
  const { reader } = indexOf(files, folders)
  const scanned = new Map<string, boolean>()
  for (const name of [...files, ...folders].filter((n) => n.startsWith('r/'))) {
    const rest = name.slice(2)
    const slash = rest.indexOf('/')
    if (slash === -1) {
      if (rest !== '') scanned.set(name, false)
    } else {
      const prefix = `r/${rest.slice(0, slash + 1)}`
      scanned.set(prefix, (scanned.get(prefix) ?? false) || folders.some((f) => f.startsWith(prefix)))
    }
  }
  const expected = [...scanned]
    .toSorted(([a], [b]) => byteOrder(a, b))
    .map(([name, marked]) => (name.endsWith('/') ? `${name}${marked ? '*' : ''}` : name))
  for (let limit = 1; limit <= expected.length + 1; limit++) {
    const listed: string[] = []
    let after: string | undefined
    for (let pages = 0; pages < 50; pages++) {
      const page = await walkChildren(reader, 'r/', limit, after)
      listed.push(...shown(page))
      const last = page.at(-1)
      if (page.length < limit || !last) break
      after = last.kind === 'file' ? last.file.name : last.prefix
    }
    assert.deepEqual(listed, expected, `pages of ${limit}`)
  }
  assert.equal(pastPrefix('r/a/'), 'r/a0')
})
