// The part of the MetadataStore contract a WebDAV gateway relies on, run by each implementation next
// to the main one (metadata-store.ts): delimited listings that seek past what they do not list,
// folder markers, renames and copies in one transaction, and dead properties with their bounds.

import { describe, test, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_PROP_VALUE_BYTES } from '../../src/protocol/dead-props.ts'
import { DfsError } from '../../src/protocol/errors.ts'
import type { ChildEntry, MetadataStore, RelinkRequest } from '../../src/metadata/store.ts'
import type { StoreUnderTest } from './metadata-store.ts'
import { PERMS, version } from '../helpers/versions.ts'

const SHA = (c: string) => c.repeat(64)
const ALICE = { user: 'alice', proxy: 1 }

function relink(from: string, to: string, overrides: Partial<RelinkRequest> = {}): RelinkRequest {
  return { from, to, overwrite: true, writer: 'alice', perms: PERMS, ...overrides }
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof DfsError, `a DfsError, not ${String(error)}`)
    return error.code
  }
  assert.fail('expected a refusal')
}

/** Entries as short strings: a file's name, a prefix with '*' if marked. */
function shown(entries: ChildEntry[]): string[] {
  return entries.map((e) => (e.kind === 'file' ? e.file.name : `${e.prefix}${e.marked ? '*' : ''}`))
}

export function collectionsContract(kind: string, open: () => Promise<StoreUnderTest>): void {
  describe(`MetadataStore contract, collections: ${kind}`, () => {
    let subject: StoreUnderTest
    let store: MetadataStore
    beforeEach(async () => {
      subject = await open()
      store = subject.store
    })
    afterEach(async () => {
      await subject.destroy()
    })

    test('a delimited listing shows the names directly under a prefix and the prefixes one level down', async () => {
      for (const name of ['a/x', 'a/b/c', 'a/b/d', 'a/b.txt', 'a/c/e/f', 'a', 'ab/z', 'top'])
        await store.commit(version(name, 0), 100)
      assert.deepEqual(shown(await store.listChildren('a/', 100)), ['a/b.txt', 'a/b/', 'a/c/', 'a/x'])
      assert.deepEqual(shown(await store.listChildren('', 100)), ['a', 'a/', 'ab/', 'top'])
      // A prefix without its '/', as S3 takes it: every name that starts with it.
      assert.deepEqual(shown(await store.listChildren('a', 100)), ['a', 'a/', 'ab/'])
      const files = (await store.listChildren('a/', 100)).filter((e) => e.kind === 'file')
      assert.ok(
        files.every((e) => e.file.owner === 'alice' && e.file.sha256 === SHA('a')),
        'with versions',
      )
      assert.deepEqual(shown(await store.listChildren('nothing/', 100)), [])
    })

    test('a delimited listing pages across a prefix boundary, a prefix as the cursor passing all of it', async () => {
      for (const name of ['d/1', 'd/m/1', 'd/m/2', 'd/m/3', 'd/n', 'd/o/1', 'd/p'])
        await store.commit(version(name, 0), 100)
      const pages: string[][] = []
      let after: string | undefined
      for (let i = 0; i < 10; i++) {
        const page = await store.listChildren('d/', 2, after)
        if (page.length === 0) break
        pages.push(shown(page))
        const last = page.at(-1)!
        after = last.kind === 'file' ? last.file.name : last.prefix
      }
      assert.deepEqual(pages, [['d/1', 'd/m/'], ['d/n', 'd/o/'], ['d/p']])
      assert.deepEqual(shown(await store.listChildren('d/', 10, 'd/m/2')), ['d/n', 'd/o/', 'd/p'])
    })

    test('a prefix with thousands of names below it is one entry, and the names after it follow', async () => {
      const names = Array.from({ length: 5000 }, (_, i) => `big/sub/${String(i).padStart(5, '0')}`)
      for (let i = 0; i < names.length; i += 500)
        await Promise.all(names.slice(i, i + 500).map((name) => store.commit(version(name, 0), 100)))
      for (const name of ['big/a', 'big/sub0', 'big/sub-x', 'big/z'])
        await store.commit(version(name, 0), 100)
      assert.deepEqual(shown(await store.listChildren('big/', 100)), [
        'big/a',
        'big/sub-x',
        'big/sub/',
        'big/sub0',
        'big/z',
      ])
      assert.deepEqual(shown(await store.listChildren('big/', 1, 'big/sub-x')), ['big/sub/'])
    })

    test('names with characters beyond U+FFFF stay inside their prefix', async () => {
      for (const name of ['e/s/\u{1F600}', 'e/s/z', 'e/t']) await store.commit(version(name, 0), 100)
      assert.deepEqual(shown(await store.listChildren('e/', 100)), ['e/s/', 'e/t'])
    })

    test('folders: markers made once, listed as prefixes, kept when the names below go, removed alone', async () => {
      assert.equal(await store.makeFolder('f/empty/'), true)
      assert.equal(await store.makeFolder('f/empty/'), false, 'there already')
      assert.equal(await store.folderExists('f/empty/'), true)
      assert.equal(await store.folderExists('f/'), false, 'a prefix above it has no marker')
      await store.commit(version('f/full/x', 0), 100)
      await store.makeFolder('f/deep/er/')
      assert.deepEqual(shown(await store.listChildren('f/', 100)), ['f/deep/*', 'f/empty/*', 'f/full/'])
      assert.deepEqual(
        shown(await store.listChildren('f/empty/', 100)),
        [],
        'the folder itself is not listed',
      )
      await store.makeFolder('f/full/')
      await store.removeFile('f/full/x', 101)
      assert.deepEqual(shown(await store.listChildren('f/', 100)), ['f/deep/*', 'f/empty/*', 'f/full/*'])
      assert.equal(await store.removeFolder('f/empty/'), true)
      assert.equal(await store.removeFolder('f/empty/'), false)
      assert.equal(await store.folderExists('f/empty/'), false)
      assert.deepEqual(shown(await store.listChildren('f/', 100)), ['f/deep/*', 'f/full/*'])
    })

    test('a move makes a new version of the target with the same blob, removes the source, and feeds both', async () => {
      const blocks = Buffer.alloc(2 * 32, 5).toString('base64')
      await store.commit(
        version('m/src', 0, { sha256: SHA('b'), size: 7, blocks, holders: [2, 3], primary: 2 }),
        100,
      )
      await store.setPerms('m/src', { owner: 'alice', group: 'staff', mode: 0o640 })
      await store.changeProps('m/src', { '{DAV:}displayname': '<x>src</x>' }, [])
      await store.commit(version('m/dst', 0, { writer: 'bob', perms: { ...PERMS, owner: 'bob' } }), 100)
      await store.changeProps('m/dst', { '{}old': 'gone' }, [])
      const before = (await store.changeBounds()).last
      const counts = await store.countFiles()
      const { from, to } = await store.moveFile(relink('m/src', 'm/dst'), 200)
      assert.deepEqual([from.name, from.version], ['m/src', 1])
      assert.deepEqual(
        [to.name, to.version, to.sha256, to.size, to.primary, to.holders, to.writer, to.mtime],
        ['m/dst', 2, SHA('b'), 7, 2, [2, 3], 'alice', 200],
      )
      assert.deepEqual([to.owner, to.group, to.mode], ['alice', 'staff', 0o640], 'the perms follow the name')
      assert.equal(await store.getFile('m/src'), undefined)
      assert.equal((await store.listVersions('m/src')).length, 1, 'its history stays')
      assert.equal(await store.blockList('m/dst', 2), blocks)
      assert.deepEqual(await store.getProps('m/dst'), { '{DAV:}displayname': '<x>src</x>' })
      assert.deepEqual(await store.getProps('m/src'), {})
      assert.deepEqual(await store.countFiles(), { files: counts.files - 1, bytes: counts.bytes - 1 })
      const changes = await store.changesSince(before, 10)
      assert.deepEqual(
        changes.map((c) => `${c.type} ${c.name} v${c.version} ${c.owner}`),
        ['put m/dst v2 alice', 'rm m/src v1 alice'],
      )
      // Indexed as a commit is: repair and inventory see the new version on its holders.
      assert.deepEqual(
        (await store.versionsHeldBy(3, undefined, 10)).map((v) => `${v.name} ${v.version}`),
        ['m/dst 2', 'm/src 1'],
      )
    })

    test('a refused move changes nothing: missing source, existing target, self, leases', async () => {
      await store.commit(version('r/a', 0), 100)
      await store.commit(version('r/b', 0, { sha256: SHA('c') }), 100)
      const before = (await store.changeBounds()).last
      assert.equal(await refusal(store.moveFile(relink('r/none', 'r/c'), 200)), 'DFS_NOT_FOUND')
      assert.equal(
        await refusal(store.moveFile(relink('r/a', 'r/b', { overwrite: false }), 200)),
        'DFS_EXISTS',
      )
      assert.equal(await refusal(store.moveFile(relink('r/a', 'r/a'), 200)), 'DFS_BAD_REQUEST')
      const lease = await store.grantLease('r/b', ALICE, 'hash-b', 100, 30_000)
      assert.equal(
        await refusal(store.moveFile(relink('r/a', 'r/b'), 200)),
        'DFS_LOCKED',
        'the target is leased',
      )
      assert.equal(
        await refusal(
          store.moveFile(relink('r/a', 'r/b', { toLease: { token: lease.token, secretHash: 'guess' } }), 200),
        ),
        'DFS_CONFLICT',
        'a wrong key',
      )
      assert.equal(
        await refusal(
          store.moveFile(
            relink('r/a', 'r/b', { writer: 'bob', toLease: { token: lease.token, secretHash: 'hash-b' } }),
            200,
          ),
        ),
        'DFS_CONFLICT',
        'a key the writer does not hold',
      )
      const other = await store.grantLease('r/a', { user: 'bob', proxy: 2 }, 'hash-a', 100, 30_000)
      assert.equal(
        await refusal(
          store.moveFile(
            relink('r/a', 'r/b', { toLease: { token: lease.token, secretHash: 'hash-b' } }),
            200,
          ),
        ),
        'DFS_LOCKED',
        'the source is leased by someone else',
      )
      assert.equal((await store.changeBounds()).last, before, 'nothing appended')
      assert.deepEqual(
        [(await store.getFile('r/a'))?.version, (await store.getFile('r/b'))?.sha256],
        [1, SHA('c')],
      )
      // With both keys, held by the writer, it goes through.
      await store.releaseLease('r/a', { token: other.token, secretHash: 'hash-a' }, { user: 'bob', proxy: 2 })
      const mine = await store.grantLease('r/a', ALICE, 'hash-a2', 100, 30_000)
      const moved = await store.moveFile(
        relink('r/a', 'r/b', {
          fromLease: { token: mine.token, secretHash: 'hash-a2' },
          toLease: { token: lease.token, secretHash: 'hash-b' },
        }),
        300,
      )
      assert.deepEqual([moved.to.name, moved.to.version, moved.to.sha256], ['r/b', 2, SHA('a')])
    })

    test('a copy keeps the source; a new target gets the perms given, an existing one keeps its own', async () => {
      await store.commit(version('c/src', 0, { sha256: SHA('d'), size: 3 }), 100)
      await store.changeProps('c/src', { '{ns}p': 'v' }, [])
      await store.commit(version('c/old', 0, { perms: { owner: 'bob', group: 'users', mode: 0o644 } }), 100)
      const before = (await store.changeBounds()).last
      const fresh = await store.copyFile(
        relink('c/src', 'c/new', { perms: { owner: 'carol', group: 'g', mode: 0o600 } }),
        200,
      )
      assert.deepEqual(
        [fresh.to.version, fresh.to.sha256, fresh.to.owner, fresh.to.group, fresh.to.mode],
        [1, SHA('d'), 'carol', 'g', 0o600],
      )
      const over = await store.copyFile(
        relink('c/src', 'c/old', { perms: { owner: 'carol', group: 'g', mode: 0o600 } }),
        201,
      )
      assert.deepEqual([over.to.version, over.to.owner, over.to.mode], [2, 'bob', 0o644])
      assert.equal((await store.getFile('c/src'))?.version, 1, 'the source stays')
      assert.deepEqual(await store.getProps('c/new'), { '{ns}p': 'v' })
      assert.deepEqual(await store.getProps('c/src'), { '{ns}p': 'v' })
      assert.deepEqual(
        (await store.changesSince(before, 10)).map((c) => `${c.type} ${c.name} v${c.version}`),
        ['put c/new v1', 'put c/old v2'],
      )
      assert.equal(
        await refusal(store.copyFile(relink('c/src', 'c/new', { overwrite: false }), 202)),
        'DFS_EXISTS',
      )
    })

    test('a blob shared by a copy stays referenced after the source and its versions go', async () => {
      await store.commit(version('g/src', 0, { sha256: SHA('1'), holders: [1, 2] }), 100)
      await store.commit(version('g/src', 1, { sha256: SHA('2'), holders: [1, 2] }), 101)
      await store.copyFile(relink('g/src', 'g/copy'), 102)
      await store.commit(version('g/src', 2, { sha256: SHA('3'), holders: [1, 2] }), 103)
      await store.pruneVersions('g/src', 1)
      await store.removeFile('g/src', 104)
      assert.deepEqual(
        (await store.listVersions('g/src')).map((v) => v.sha256),
        [SHA('3')],
        'the shared blob is gone from the source',
      )
      assert.deepEqual(await store.unreferenced(1, [SHA('1'), SHA('2'), SHA('3')]), [SHA('1')])
      assert.deepEqual(await store.blobsHeldIn(2, {}, 10), [SHA('2'), SHA('3')])
    })

    test('dead properties: set and removed all or nothing, bounded, of files and folders only', async () => {
      await store.commit(version('p/file', 0), 100)
      assert.deepEqual(await store.getProps('p/file'), {})
      const set = await store.changeProps('p/file', { '{DAV:}a': '<a/>', '{}b': 'two words' }, [])
      assert.deepEqual(set, { '{DAV:}a': '<a/>', '{}b': 'two words' })
      assert.deepEqual(await store.changeProps('p/file', { '{}c': '3' }, ['{DAV:}a']), {
        '{}b': 'two words',
        '{}c': '3',
      })
      assert.equal(
        await refusal(store.changeProps('p/file', { '{}d': '4', 'no-namespace': 'x' }, [])),
        'DFS_BAD_REQUEST',
      )
      assert.equal(
        await refusal(store.changeProps('p/file', { '{}e': 'x'.repeat(MAX_PROP_VALUE_BYTES + 1) }, [])),
        'DFS_TOO_LARGE',
      )
      const many = Object.fromEntries(Array.from({ length: 99 }, (_, i) => [`{}m${i}`, 'v']))
      assert.equal(
        await refusal(store.changeProps('p/file', many, [])),
        'DFS_TOO_LARGE',
        '101 would be too many',
      )
      const big = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`{}big${i}`, 'x'.repeat(16_000)]))
      assert.equal(
        await refusal(store.changeProps('p/file', big, [])),
        'DFS_TOO_LARGE',
        'past 256 KiB in all',
      )
      assert.deepEqual(
        await store.getProps('p/file'),
        { '{}b': 'two words', '{}c': '3' },
        'refusals changed nothing',
      )
      assert.equal(await refusal(store.changeProps('p/none', { '{}a': '1' }, [])), 'DFS_NOT_FOUND')
      assert.equal(await refusal(store.changeProps('p/nothing/', { '{}a': '1' }, [])), 'DFS_NOT_FOUND')
      assert.deepEqual(await store.changeProps('p/', { '{}dir': 'names below' }, []), {
        '{}dir': 'names below',
      })
      await store.makeFolder('p/empty/')
      assert.deepEqual(await store.changeProps('p/empty/', { '{}dir': 'marked' }, []), { '{}dir': 'marked' })
      await store.removeFile('p/file', 101)
      assert.deepEqual(await store.getProps('p/file'), {}, 'they go with the name')
      await store.commit(version('p/file', 0), 102)
      assert.deepEqual(await store.getProps('p/file'), {}, 'and do not come back')
      await store.removeFolder('p/empty/')
      assert.deepEqual(await store.getProps('p/empty/'), {})
    })
  })
}
