// The contract every MetadataStore keeps, written against the interface alone: one suite that each
// implementation runs (metadata-store-*.test.ts). What the directory relies on is here: compare-and-
// set commits and fencing, leases, history, block lists, holders, paging, owners and rules, users,
// groups, sessions, join tokens and node certificates, and two writers racing on one name.

import { describe, test, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { BLOCK_SIZE } from '../../src/protocol/blocks.ts'
import { DfsError } from '../../src/protocol/errors.ts'
import type { LeaseKey, MetadataStore, StoreNotice } from '../../src/metadata/store.ts'
import type { FileVersion } from '../../src/protocol/types.ts'
import { PERMS, version } from '../helpers/versions.ts'

export interface StoreUnderTest {
  store: MetadataStore
  /** Closes the store and removes what it kept. */
  destroy(): Promise<void>
}

const SHA = (c: string) => c.repeat(64)
const ALICE = { user: 'alice', proxy: 1 }
const BOB = { user: 'bob', proxy: 2 }

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof DfsError, `a DfsError, not ${String(error)}`)
    return error.code
  }
  assert.fail('expected a refusal')
}

export function metadataStoreContract(kind: string, open: () => Promise<StoreUnderTest>): void {
  describe(`MetadataStore contract: ${kind}`, () => {
    let subject: StoreUnderTest
    let store: MetadataStore
    beforeEach(async () => {
      subject = await open()
      store = subject.store
    })
    afterEach(async () => {
      await subject.destroy()
    })

    test('servers: heartbeats upsert, a draining mark survives them, removal forgets', async () => {
      await store.upsertServer({ id: 2, url: 'https://b', freeBytes: 5, lastHeartbeat: 10 })
      await store.upsertServer({ id: 1, url: 'https://a', freeBytes: 7, lastHeartbeat: 11 })
      assert.equal(await store.setDraining(2, true), true)
      await store.upsertServer({ id: 2, url: 'https://b2', freeBytes: 4, lastHeartbeat: 12 })
      const servers = await store.listServers()
      assert.deepEqual(
        servers.map((s) => [s.id, s.url, s.freeBytes, s.lastHeartbeat, s.draining === true]),
        [
          [1, 'https://a', 7, 11, false],
          [2, 'https://b2', 4, 12, true],
        ],
      )
      assert.equal(await store.setDraining(9, true), false)
      assert.equal(await store.removeServer(2), true)
      assert.equal(await store.removeServer(2), false)
      assert.deepEqual(
        (await store.listServers()).map((s) => s.id),
        [1],
      )
    })

    test('commits are compare-and-set on the version; a new name takes its owner, a new version keeps it', async () => {
      const first = await store.commit(version('a.txt', 0), 100)
      assert.deepEqual([first.version, first.owner, first.group, first.mode], [1, 'alice', 'users', 0o664])
      assert.equal(await refusal(store.commit(version('a.txt', 0), 101)), 'DFS_CONFLICT')
      const second = await store.commit(
        version('a.txt', 1, { writer: 'bob', sha256: SHA('b'), perms: { ...PERMS, owner: 'bob' } }),
        102,
      )
      assert.deepEqual([second.version, second.writer, second.owner], [2, 'bob', 'alice'])
      assert.equal(await refusal(store.commit(version('a.txt', 1), 103)), 'DFS_CONFLICT', 'a stale version')
      const current = await store.getFile('a.txt')
      assert.deepEqual(
        [current?.version, current?.sha256, current?.mtime, current?.owner],
        [2, SHA('b'), 102, 'alice'],
      )
      assert.equal(await store.getFile('nothing'), undefined)
      assert.deepEqual(await store.countFiles(), { files: 1, bytes: 1 })
    })

    test('fencing: a held lease refuses writes without its key, by others, and after release', async () => {
      await store.commit(version('f.txt', 0), 100)
      const lease = await store.grantLease('f.txt', ALICE, 'hash-1', 100, 30_000)
      const key: LeaseKey = { token: lease.token, secretHash: 'hash-1' }
      assert.equal(await refusal(store.commit(version('f.txt', 1), 101)), 'DFS_LOCKED', 'no key while held')
      assert.equal(
        await refusal(store.commit(version('f.txt', 1, { lease: { ...key, secretHash: 'guess' } }), 101)),
        'DFS_CONFLICT',
      )
      assert.equal(
        await refusal(store.commit(version('f.txt', 1, { lease: key, writer: 'bob' }), 101)),
        'DFS_CONFLICT',
        'not the holder',
      )
      const written = await store.commit(version('f.txt', 1, { lease: key }), 102)
      assert.equal(written.version, 2)
      assert.equal(await store.releaseLease('f.txt', key, BOB), false, 'only the holder releases')
      assert.equal(await store.releaseLease('f.txt', key, ALICE), true)
      assert.equal(await store.releaseLease('f.txt', key, ALICE), false, 'once')
      assert.equal(
        await refusal(store.commit(version('f.txt', 2, { lease: key }), 103)),
        'DFS_CONFLICT',
        'a released key',
      )
      assert.equal(
        (await store.commit(version('f.txt', 2), 104)).version,
        3,
        'a free name takes a write without a key',
      )
    })

    test('leases: one holder at a time; expired leases can be taken; tokens grow across names', async () => {
      const first = await store.grantLease('l.txt', ALICE, 'h1', 1000, 5000)
      assert.equal(await refusal(store.grantLease('l.txt', BOB, 'h2', 2000, 5000)), 'DFS_LOCKED')
      const other = await store.grantLease('m.txt', BOB, 'h3', 2000, 5000)
      assert.ok(other.token > first.token)
      const key = { token: first.token, secretHash: 'h1' }
      assert.equal(
        await refusal(store.renewLease('l.txt', key, BOB, 3000, 5000)),
        'DFS_CONFLICT',
        'renewed by another',
      )
      assert.equal(
        await refusal(store.renewLease('l.txt', { ...key, secretHash: 'x' }, ALICE, 3000, 5000)),
        'DFS_CONFLICT',
      )
      const renewed = await store.renewLease('l.txt', key, ALICE, 3000, 5000)
      assert.deepEqual([renewed.token, renewed.expires], [first.token, 8000])
      const taken = await store.grantLease('l.txt', BOB, 'h4', 8001, 5000)
      assert.ok(taken.token > other.token, 'past its expiry, another may take it, with a newer token')
      assert.equal(
        await refusal(store.renewLease('l.txt', key, ALICE, 8002, 5000)),
        'DFS_CONFLICT',
        'the old holder lost it',
      )
      const stored = await store.getLease('l.txt')
      assert.deepEqual([stored?.user, stored?.token, stored?.secretHash], ['bob', taken.token, 'h4'])
    })

    test('history: versions newest first, kept after rm, pruned to the newest few but never the current', async () => {
      for (let v = 0; v < 4; v++) await store.commit(version('h.txt', v, { sha256: SHA(String(v)) }), 100 + v)
      assert.deepEqual(
        (await store.listVersions('h.txt')).map((v) => v.version),
        [4, 3, 2, 1],
      )
      await store.pruneVersions('h.txt', 2)
      assert.deepEqual(
        (await store.listVersions('h.txt')).map((v) => v.version),
        [4, 3],
      )
      const removed = await store.removeFile('h.txt', 200)
      assert.equal(removed.version, 4)
      assert.equal(await store.getFile('h.txt'), undefined)
      assert.equal(await refusal(store.removeFile('h.txt', 201)), 'DFS_NOT_FOUND')
      assert.deepEqual(
        (await store.listVersions('h.txt')).map((v) => v.version),
        [4, 3],
        'history stays',
      )
      assert.deepEqual(await store.getPerms('h.txt'), PERMS, 'and so do its owner and mode')
      const again = await store.commit(version('h.txt', 0, { perms: { ...PERMS, owner: 'bob' } }), 202)
      assert.deepEqual(
        [again.version, again.owner],
        [5, 'alice'],
        'made again, it keeps its number line and owner',
      )
      await store.grantLease('h.txt', ALICE, 'h', 300, 5000)
      assert.equal(await refusal(store.removeFile('h.txt', 301)), 'DFS_LOCKED')
    })

    test('block lists: kept with their version and read back alone, none without one; no listing, history or feed carries one', async () => {
      // A 10 GiB file's list: 2560 digests, some 110 KB of base64.
      const digests = Buffer.alloc(2560 * 32)
      for (let i = 0; i < digests.length; i++) digests[i] = (i * 7 + (i >> 5)) & 0xff
      const list = digests.toString('base64')
      const big = { size: 2560 * BLOCK_SIZE, sha256: SHA('b'), holders: [1, 2] }
      await store.commit(version('big.bin', 0, { ...big, blocks: list }), 100)
      await store.commit(version('small.txt', 0), 101)
      assert.equal(await store.blockList('big.bin', 1), list)
      assert.equal(await store.blockList('small.txt', 1), undefined)
      assert.equal(await store.blockList('big.bin', 9), undefined, 'no such version')
      assert.equal(await store.blockList('nothing', 1), undefined)
      // A new version from a file server that sent no list has none; the old one keeps its own.
      await store.commit(version('big.bin', 1, { ...big, sha256: SHA('c') }), 102)
      assert.equal(await store.blockList('big.bin', 2), undefined)
      assert.equal(await store.blockList('big.bin', 1), list)

      const carried: unknown[] = [
        await store.getFile('big.bin'),
        await store.listFiles('', 10),
        await store.listVersions('big.bin'),
        await store.versionsHeldBy(1, undefined, 10),
        await store.versionsWithBlob(1, SHA('b')),
        await store.underReplicated(3, [1], undefined, 10),
        await store.changesSince(0, 10),
      ]
      assert.ok(carried.every((answer) => !JSON.stringify(answer).includes('"blocks"')))
      assert.equal((await store.listVersions('big.bin')).length, 2, 'what was looked at had the versions')
      await store.pruneVersions('big.bin', 1)
      assert.equal(await store.blockList('big.bin', 1), undefined, 'pruned with its version')
    })

    test('holders: replaced per version, the primary follows; unreferenced blobs per server', async () => {
      await store.commit(version('x', 0, { sha256: SHA('1'), primary: 1, holders: [1, 2] }), 100)
      await store.commit(version('y', 0, { sha256: SHA('2'), primary: 2, holders: [2, 3] }), 100)
      await store.setHolders('x', 1, [2, 3])
      const x = await store.getFile('x')
      assert.deepEqual([x?.holders, x?.primary], [[2, 3], 2])
      assert.deepEqual(
        [...(await store.listVersions('x')), ...(await store.listVersions('y'))].map((v) => [
          v.name,
          v.holders,
        ]),
        [
          ['x', [2, 3]],
          ['y', [2, 3]],
        ],
      )
      assert.deepEqual(await store.unreferenced(1, [SHA('1'), SHA('2'), SHA('9')]), [
        SHA('1'),
        SHA('2'),
        SHA('9'),
      ])
      assert.deepEqual(await store.unreferenced(3, [SHA('1'), SHA('2'), SHA('9')]), [SHA('9')])
    })

    test('what one server holds, a page at a time and by blob, follows commits, holder changes and pruning', async () => {
      for (let i = 0; i < 5; i++)
        await store.commit(
          version(`p/${i}`, 0, { sha256: SHA(String(i)), holders: i % 2 ? [1, 2] : [2, 3] }),
          100,
        )
      await store.commit(version('p/0', 1, { sha256: SHA('7'), holders: [1, 3] }), 101)
      const held = async (server: number, limit: number) => {
        const all: string[] = []
        let after: { name: string; version: number } | undefined
        for (;;) {
          const page = await store.versionsHeldBy(server, after, limit)
          all.push(...page.map((v) => `${v.name}@${v.version}`))
          const last = page.at(-1)
          if (page.length < limit || !last) return all
          after = { name: last.name, version: last.version }
        }
      }
      assert.deepEqual(await held(1, 2), ['p/0@2', 'p/1@1', 'p/3@1'])
      assert.deepEqual(await held(3, 100), ['p/0@1', 'p/0@2', 'p/2@1', 'p/4@1'])
      assert.deepEqual(
        (await store.versionsWithBlob(3, SHA('0'))).map((v) => v.version),
        [1],
      )
      assert.deepEqual([...(await store.heldCounts())].sort(), [
        [1, 3],
        [2, 5],
        [3, 4],
      ])
      assert.deepEqual(await store.soleCopies(3), { count: 0 })
      await store.setHolders('p/2', 1, [3])
      assert.deepEqual(await store.soleCopies(3), { count: 1, example: 'p/2' })
      await store.setHolders('p/2', 1, [2, 3])
      await store.setHolders('p/0', 1, [2])
      assert.deepEqual(await held(3, 100), ['p/0@2', 'p/2@1', 'p/4@1'])
      assert.deepEqual(await store.unreferenced(3, [SHA('0'), SHA('7')]), [SHA('0')])
      await store.pruneVersions('p/0', 1)
      assert.deepEqual(
        await held(2, 100),
        ['p/1@1', 'p/2@1', 'p/3@1', 'p/4@1'],
        'a pruned version is held by nobody',
      )
      assert.deepEqual(await store.unreferenced(2, [SHA('0')]), [SHA('0')])
      // The counts follow every holder change and the pruning.
      const counts = new Map<number, number>()
      for (const server of [1, 2, 3]) counts.set(server, (await held(server, 100)).length)
      assert.deepEqual([...(await store.heldCounts())].sort(), [...counts].filter(([, n]) => n > 0).sort())
    })

    test('the blobs one server holds in a hash range: each once, in byte order, a page at a time', async () => {
      // Blob 3 is named by two versions on server 1, and once more on server 2 alone.
      for (const [name, blob, holders] of [
        ['h/a', 'a', [1, 2]],
        ['h/3', '3', [1, 3]],
        ['h/3-again', '3', [1, 3]],
        ['h/3-elsewhere', '3', [2]],
        ['h/f', 'f', [1]],
        ['h/0', '0', [3]],
        ['h/9', '9', [1]],
      ] as const)
        await store.commit(version(name, 0, { sha256: SHA(blob), holders: [...holders] }), 100)
      const all = async (server: number, range: { after?: string; last?: string }, limit: number) => {
        const found: string[] = []
        for (let after = range.after; ;) {
          const page = await store.blobsHeldIn(server, { ...range, after }, limit)
          found.push(...page.map((sha256) => sha256[0]!))
          if (page.length < limit) return found.join('')
          after = page.at(-1)
        }
      }
      assert.deepEqual(await store.blobsHeldIn(1, {}, 10), [SHA('3'), SHA('9'), SHA('a'), SHA('f')])
      assert.equal(await all(1, {}, 1), '39af', 'one blob a page, however many versions name it')
      assert.equal(await all(1, { after: SHA('3') }, 2), '9af', 'after is left out')
      assert.equal(await all(1, { last: SHA('a') }, 2), '39a', 'last is in')
      assert.equal(await all(1, { after: SHA('3'), last: SHA('a') }, 10), '9a')
      assert.equal(await all(1, { after: SHA('4'), last: SHA('8') }, 10), '')
      assert.equal(await all(3, {}, 10), '03')
      // It follows holder changes and pruning.
      await store.setHolders('h/9', 1, [2])
      await store.setHolders('h/3', 1, [2])
      assert.equal(await all(1, {}, 10), '3af', 'h/3-again still names blob 3 on server 1')
      await store.commit(version('h/a', 1, { sha256: SHA('b'), holders: [2] }), 101)
      await store.pruneVersions('h/a', 1)
      assert.equal(await all(1, {}, 10), '3f', 'a pruned version is held by nobody')
      assert.equal(await all(2, {}, 10), '39b')
    })

    test('repair candidates: versions short of R or on a suspect server, each once across pages', async () => {
      // R = 2. Fully replicated on good servers: never a candidate.
      await store.commit(version('r/full', 0, { holders: [1, 2] }), 100)
      await store.commit(version('r/three', 0, { holders: [1, 2, 3] }), 100)
      await store.commit(version('r/one', 0, { holders: [1] }), 100)
      await store.commit(version('r/none', 0, { holders: [] }), 100)
      await store.commit(version('r/suspect', 0, { holders: [2, 9] }), 100)
      // Short and on a suspect server: still once.
      await store.commit(version('r/both', 0, { holders: [9] }), 100)
      // An older version counts on its own: its name's current version is fine.
      await store.commit(version('r/full', 1, { sha256: SHA('b'), holders: [2, 3] }), 101)
      await store.setHolders('r/full', 1, [3])
      const pages = async (suspect: number[], limit: number) => {
        const all: string[] = []
        let after: { name: string; version: number } | undefined
        for (;;) {
          const page = await store.underReplicated(2, suspect, after, limit)
          assert.ok(page.length <= limit)
          all.push(...page.map((v) => `${v.name}@${v.version}`))
          const last = page.at(-1)
          if (page.length < limit || !last) return all
          after = { name: last.name, version: last.version }
        }
      }
      const expected = ['r/both@1', 'r/full@1', 'r/none@1', 'r/one@1', 'r/suspect@1']
      for (const limit of [1, 2, 3, 100])
        assert.deepEqual(await pages([9, 7], limit), expected, `pages of ${limit}`)
      assert.deepEqual(await pages([], 100), ['r/both@1', 'r/full@1', 'r/none@1', 'r/one@1'])
      assert.deepEqual(
        await pages([3], 100),
        ['r/both@1', 'r/full@1', 'r/full@2', 'r/none@1', 'r/one@1', 'r/three@1'],
        'the copies a suspect server holds, whatever the count',
      )
      const [both] = await store.underReplicated(2, [9], undefined, 1)
      assert.deepEqual(
        [both?.name, both?.holders, both?.sha256],
        ['r/both', [9], SHA('a')],
        'with its holders',
      )
      assert.deepEqual(await store.underReplicated(1, [], undefined, 10).then((p) => p.map((v) => v.name)), [
        'r/none',
      ])
    })

    test('repair candidates follow holder changes and pruning; holder servers are listed once each', async () => {
      await store.commit(version('c/a', 0, { holders: [1] }), 100)
      await store.commit(version('c/b', 0, { holders: [1, 2] }), 100)
      const names = async (suspect: number[] = []) =>
        (await store.underReplicated(2, suspect, undefined, 100)).map((v) => `${v.name}@${v.version}`)
      assert.deepEqual(await names(), ['c/a@1'])
      await store.setHolders('c/a', 1, [1, 3])
      assert.deepEqual(await names(), [], 'repaired: out')
      await store.setHolders('c/b', 1, [2])
      assert.deepEqual(await names(), ['c/b@1'], 'a copy lost: in')
      assert.deepEqual(await names([3]), ['c/a@1', 'c/b@1'])
      assert.deepEqual(await store.holderServers(), [1, 2, 3])
      await store.setHolders('c/a', 1, [1, 2])
      assert.deepEqual(await names([3]), ['c/b@1'], 'off the suspect server: out')
      assert.deepEqual(await store.holderServers(), [1, 2])
      await store.commit(version('c/b', 1, { sha256: SHA('b'), holders: [1, 2] }), 101)
      assert.deepEqual(await names(), ['c/b@1'])
      await store.pruneVersions('c/b', 1)
      assert.deepEqual(await names(), [], 'a pruned version is no candidate')
      await store.setHolders('c/a', 1, [])
      await store.setHolders('c/b', 2, [])
      assert.deepEqual(await names(), ['c/a@1', 'c/b@2'], 'no holder left: lost, still a candidate')
      assert.deepEqual(await store.holderServers(), [])
    })

    test('listing pages through a prefix in name order; % and _ are plain characters', async () => {
      const names = ['a/1', 'a/2', 'a/3', 'a%/x', 'a_/y', 'ab', 'b/1']
      for (const name of names) await store.commit(version(name, 0), 100)
      const all = (await store.listFiles('', 100)).map((f) => f.name)
      assert.deepEqual(all, [...names].sort())
      assert.deepEqual(
        (await store.listFiles('a/', 100)).map((f) => f.name),
        ['a/1', 'a/2', 'a/3'],
      )
      assert.deepEqual(
        (await store.listFiles('a/', 2)).map((f) => f.name),
        ['a/1', 'a/2'],
      )
      assert.deepEqual(
        (await store.listFiles('a/', 2, 'a/2')).map((f) => f.name),
        ['a/3'],
      )
      assert.deepEqual(
        (await store.listFiles('a%', 100)).map((f) => f.name),
        ['a%/x'],
      )
      assert.deepEqual(
        (await store.listFiles('a_', 100)).map((f) => f.name),
        ['a_/y'],
      )
      assert.ok(
        (await store.listFiles('a/', 100)).every((f) => f.owner === 'alice'),
        'with owners',
      )
    })

    test('owners and rules: the longest prefix rule covers a name; unowned names go to their last writer', async () => {
      await store.setPrefixRule({ prefix: 'home/', owner: 'root', group: 'users', mode: 0o644 })
      await store.setPrefixRule({ prefix: 'home/alice/', owner: 'alice', group: 'users', mode: 0o600 })
      assert.equal((await store.prefixRule('home/alice/x'))?.prefix, 'home/alice/')
      assert.equal((await store.prefixRule('home/bob/x'))?.prefix, 'home/')
      assert.equal(await store.prefixRule('elsewhere'), undefined)
      assert.deepEqual(
        (await store.listPrefixRules()).map((r) => r.prefix),
        ['home/', 'home/alice/'],
      )
      await store.commit(version('n', 0), 100)
      await store.setPerms('n', { owner: 'carol', group: 'team', mode: 0o640 })
      assert.deepEqual(await store.getPerms('n'), { owner: 'carol', group: 'team', mode: 0o640 })
      assert.equal(await store.claimUnowned('users', 0o664), 0, 'every name here has an owner')
    })

    test('users: unique names, the first one known, passwords replaced, removal takes sessions and groups', async () => {
      assert.equal(await store.hasUsers(), false)
      assert.equal(
        await store.createUser({ name: 'root', passwordHash: 'h1', created: 1, admin: true }),
        true,
      )
      assert.equal(
        await store.createUser({ name: 'root', passwordHash: 'h2', created: 2, admin: false }),
        false,
      )
      assert.equal(
        await store.createUser({ name: 'bob', passwordHash: 'h3', created: 3, admin: false }),
        true,
      )
      assert.equal(await store.hasUsers(), true)
      assert.equal(await store.setPassword('bob', 'h4'), true)
      assert.equal(await store.setPassword('nobody', 'h4'), false)
      assert.equal((await store.getUser('bob'))?.passwordHash, 'h4')
      assert.deepEqual(
        (await store.listUsers()).map((u) => [u.name, u.admin]),
        [
          ['bob', false],
          ['root', true],
        ],
      )
      await store.addToGroup('team', ['bob', 'root'])
      await store.addToGroup('empty', [])
      assert.deepEqual(await store.groupsOf('bob'), ['team'])
      await store.putSession({ tokenHash: 't1', user: 'bob', created: 1, lastUsed: 1, expires: 100 })
      assert.equal(await store.removeUser('bob'), true)
      assert.equal(await store.getSession('t1'), undefined)
      assert.deepEqual(await store.listGroups(), [
        { name: 'empty', members: [] },
        { name: 'team', members: ['root'] },
      ])
      assert.equal(await store.removeFromGroup('team', ['root', 'ghost']), 1)
      assert.equal(await store.removeGroup('team'), true)
      assert.equal(await store.removeGroup('team'), false)
    })

    test('sessions: touched, ended one by one or per user, purged when past their end or idle', async () => {
      const session = (tokenHash: string, user: string, lastUsed: number, expires: number) =>
        store.putSession({ tokenHash, user, created: 0, lastUsed, expires })
      await session('s1', 'alice', 10, 1000)
      await session('s2', 'alice', 10, 1000)
      await session('s3', 'bob', 10, 50)
      await session('s4', 'bob', 10, 1000)
      await store.touchSession('s4', 500)
      assert.equal((await store.getSession('s4'))?.lastUsed, 500)
      assert.equal(await store.deleteSession('s1'), true)
      assert.equal(await store.deleteSession('s1'), false)
      assert.equal(await store.deleteExpiredSessions(100, 20), 2, 's3 is past its end, s2 idle since 10')
      assert.deepEqual((await store.getSession('s4'))?.user, 'bob')
      assert.equal(await store.deleteUserSessions('bob'), 1)
      assert.equal(await store.getSession('s4'), undefined)
    })

    test('join tokens: uses counted down, refused when used up, expired or revoked', async () => {
      const token = (id: string, expires: number, usesLeft: number | null) =>
        store.createJoinToken({
          id,
          secretHash: 'x',
          role: 'proxy',
          created: 1,
          expires,
          usesLeft,
          revoked: false,
          createdBy: 'root',
        })
      await token('aaaaaaaaaaaa', 0, 2)
      await token('bbbbbbbbbbbb', 100, null)
      assert.equal(await store.useJoinToken('aaaaaaaaaaaa', 50), true)
      assert.equal(await store.useJoinToken('aaaaaaaaaaaa', 50), true)
      assert.equal(await store.useJoinToken('aaaaaaaaaaaa', 50), false, 'used up')
      assert.equal((await store.getJoinToken('aaaaaaaaaaaa'))?.usesLeft, 0)
      assert.equal(await store.useJoinToken('bbbbbbbbbbbb', 99), true)
      assert.equal(await store.useJoinToken('bbbbbbbbbbbb', 101), false, 'expired')
      assert.equal(await store.revokeJoinToken('bbbbbbbbbbbb'), true)
      assert.equal(await store.revokeJoinToken('bbbbbbbbbbbb'), false)
      assert.equal(await store.useJoinToken('cccccccccccc', 1), false, 'unknown')
      assert.deepEqual(
        (await store.listJoinTokens()).map((t) => [t.id, t.revoked]),
        [
          ['aaaaaaaaaaaa', false],
          ['bbbbbbbbbbbb', true],
        ],
      )
    })

    test('node certificates: recorded per node, revoked together, revoked serials until they expire', async () => {
      await store.recordNodeCert({
        serial: 'A1',
        role: 'proxy',
        nodeId: 1,
        issued: 1,
        expires: 100,
        revoked: false,
      })
      await store.recordNodeCert({
        serial: 'A2',
        role: 'proxy',
        nodeId: 1,
        issued: 2,
        expires: 200,
        revoked: false,
      })
      await store.recordNodeCert({
        serial: 'B1',
        role: 'fileserver',
        nodeId: 1,
        issued: 3,
        expires: 300,
        revoked: false,
      })
      assert.deepEqual(
        (await store.nodeCerts('proxy', 1)).map((c) => c.serial),
        ['A2', 'A1'],
      )
      assert.deepEqual((await store.revokeNodeCerts('proxy', 1)).sort(), ['A1', 'A2'])
      assert.deepEqual((await store.revokedSerials(150)).sort(), ['A2'])
      assert.equal((await store.listNodeCerts()).length, 3)
    })

    test('the change feed: commits and removals append to it in order, read after a number, pruned to the newest', async () => {
      assert.deepEqual(await store.changeBounds(), { first: 1, last: 0 })
      for (let i = 1; i <= 6; i++) await store.commit(version(`feed/${i}`, 0, { size: i }), 1000 + i)
      await store.commit(version('feed/1', 1, { sha256: SHA('b') }), 1010)
      await store.removeFile('feed/2', 1011)
      const all = await store.changesSince(0, 100)
      assert.deepEqual(
        all.map((c) => `${c.type} ${c.name} v${c.version}`),
        [1, 2, 3, 4, 5, 6].map((i) => `put feed/${i} v1`).concat(['put feed/1 v2', 'rm feed/2 v1']),
      )
      const seqs = all.map((c) => c.seq)
      assert.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!))
      const { seq: _seq, ...put } = all[6]!
      assert.deepEqual(put, {
        type: 'put',
        name: 'feed/1',
        version: 2,
        sha256: SHA('b'),
        size: 1,
        writer: 'alice',
        at: 1010,
        owner: 'alice',
        group: 'users',
        mode: 0o664,
      })
      // A refused commit appends nothing.
      await assert.rejects(store.commit(version('feed/3', 0), 1012))
      assert.equal((await store.changesSince(seqs[7]!, 100)).length, 0)
      const page = await store.changesSince(seqs[1]!, 3)
      assert.deepEqual(
        page.map((c) => c.seq),
        seqs.slice(2, 5),
      )
      assert.deepEqual(await store.changeBounds(), { first: seqs[0], last: seqs[7] })
      assert.equal(await store.pruneChanges(2), 6)
      assert.deepEqual(await store.changeBounds(), { first: seqs[6], last: seqs[7] })
      // Numbers are never given twice, even after every change was pruned.
      await store.pruneChanges(0)
      assert.deepEqual(await store.changeBounds(), { first: seqs[7]! + 1, last: seqs[7] })
      await store.commit(version('feed/7', 0), 1020)
      assert.ok((await store.changesSince(0, 10))[0]!.seq > seqs[7]!)
    })

    test('bad-copy reports: the newest kept, oldest first; job states replaced whole', async () => {
      for (let i = 1; i <= 5; i++) {
        await store.addReport({ server: i, sha256: SHA(String(i)), reason: `bad ${i}`, at: 100 + i }, 3)
      }
      assert.deepEqual(await store.listReports(), [
        { server: 3, sha256: SHA('3'), reason: 'bad 3', at: 103 },
        { server: 4, sha256: SHA('4'), reason: 'bad 4', at: 104 },
        { server: 5, sha256: SHA('5'), reason: 'bad 5', at: 105 },
      ])
      assert.equal(await store.getJobState('repair'), undefined)
      await store.putJobState('repair', '{"repaired":1}')
      await store.putJobState('repair', '{"repaired":2}')
      await store.putJobState('scrub', '{}')
      assert.equal(await store.getJobState('repair'), '{"repaired":2}')
    })

    test('leadership of a job: one holder until it expires or resigns; renewing keeps it', async () => {
      assert.equal(await store.claimLeadership('repair', 'dir-a', 100, 1000), true)
      assert.equal(await store.claimLeadership('repair', 'dir-b', 500, 1000), false)
      assert.equal(await store.claimLeadership('repair', 'dir-a', 900, 1000), true)
      assert.equal(await store.claimLeadership('repair', 'dir-b', 1500, 1000), false)
      // Another job is led on its own.
      assert.equal(await store.claimLeadership('prune', 'dir-b', 1500, 1000), true)
      assert.equal(await store.claimLeadership('repair', 'dir-b', 1901, 1000), true)
      assert.equal(await store.claimLeadership('repair', 'dir-a', 2000, 1000), false)
      await store.resignLeadership('repair', 'dir-a')
      assert.equal(await store.claimLeadership('repair', 'dir-a', 2000, 1000), false)
      await store.resignLeadership('repair', 'dir-b')
      assert.equal(await store.claimLeadership('repair', 'dir-a', 2000, 1000), true)
    })

    test('notices: commits, released leases and revoked certificates are told to subscribers', async () => {
      const heard: StoreNotice[] = []
      const unsubscribe = store.subscribe((notice) => heard.push(notice))
      try {
        const seen = async (kind: StoreNotice['kind'], name?: string) => {
          const deadline = Date.now() + 5000
          while (
            !heard.some((n) => n.kind === kind && (name === undefined || ('name' in n && n.name === name)))
          ) {
            if (Date.now() > deadline) assert.fail(`no ${kind} notice in 5 s: ${JSON.stringify(heard)}`)
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
        }
        await store.commit(version('n', 0), 1)
        await seen('changes')
        const lease = await store.grantLease('held', ALICE, 'h', 100, 1000)
        assert.equal(await store.releaseLease('held', { token: lease.token, secretHash: 'h' }, ALICE), true)
        await seen('lease', 'held')
        await store.recordNodeCert({
          serial: 'AA',
          role: 'proxy',
          nodeId: 1,
          issued: 1,
          expires: 10,
          revoked: false,
        })
        await store.revokeNodeCerts('proxy', 1)
        await seen('revoked')
      } finally {
        unsubscribe()
      }
    })

    test('counts of current names and bytes follow commits, new versions, refusals and removals', async () => {
      assert.deepEqual(await store.countFiles(), { files: 0, bytes: 0 })
      await store.commit(version('count/a', 0, { size: 10 }), 1)
      await store.commit(version('count/b', 0, { size: 5 }), 1)
      await store.commit(version('count/a', 1, { size: 3 }), 2)
      await assert.rejects(store.commit(version('count/b', 0, { size: 100 }), 3))
      assert.deepEqual(await store.countFiles(), { files: 2, bytes: 8 })
      await store.removeFile('count/b', 4)
      assert.deepEqual(await store.countFiles(), { files: 1, bytes: 3 })
      // Made again after removal: counted again.
      await store.commit(version('count/b', 0, { size: 7 }), 5)
      assert.deepEqual(await store.countFiles(), { files: 2, bytes: 10 })
    })

    test('a burst of commits at once: each lands or fails on its own, and every one that landed is kept', async () => {
      await store.commit(version('burst/taken', 0), 1)
      const names = Array.from({ length: 60 }, (_, i) => (i === 30 ? 'burst/taken' : `burst/${i}`))
      const results = await Promise.allSettled(names.map((name) => store.commit(version(name, 0), 2)))
      results.forEach((r, i) => {
        if (i === 30) assert.equal(r.status === 'rejected' && (r.reason as DfsError).code, 'DFS_CONFLICT')
        else assert.equal(r.status, 'fulfilled', names[i])
      })
      const listed = await store.listFiles('burst/', 100)
      assert.equal(listed.length, 60)
      assert.equal((await store.getFile('burst/taken'))?.version, 1)
      assert.equal((await store.changesSince(0, 100)).length, 60)
    })

    test('two writers racing on one new name: exactly one wins', async () => {
      const results = await Promise.allSettled([
        store.commit(version('race', 0, { writer: 'alice', sha256: SHA('a') }), 100),
        store.commit(version('race', 0, { writer: 'bob', sha256: SHA('b') }), 100),
      ])
      const won = results.filter((r) => r.status === 'fulfilled')
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      assert.equal(won.length, 1)
      assert.equal(lost.length, 1)
      assert.equal((lost[0]!.reason as DfsError).code, 'DFS_CONFLICT')
      assert.equal((await store.listVersions('race')).length, 1)
    })

    test('eight writers racing on each version of one name: one wins every round, versions have no gaps', async () => {
      for (let round = 0; round < 5; round++) {
        const writers = ['a', 'b', 'c', 'd', 'e', 'f', '0', '1']
        const results = await Promise.allSettled(
          writers.map((w) =>
            store.commit(version('hot', round, { writer: `u${w}`, sha256: SHA(w) }), 100 + round),
          ),
        )
        const won = results.filter((r): r is PromiseFulfilledResult<FileVersion> => r.status === 'fulfilled')
        assert.equal(won.length, 1, `round ${round}: one winner`)
        assert.equal(won[0]!.value.version, round + 1)
        for (const r of results)
          if (r.status === 'rejected') assert.equal((r.reason as DfsError).code, 'DFS_CONFLICT')
        assert.equal((await store.getFile('hot'))?.sha256, won[0]!.value.sha256)
      }
      assert.deepEqual(
        (await store.listVersions('hot')).map((v) => v.version),
        [5, 4, 3, 2, 1],
      )
    })

    test('racing lease grants: one holder per name; on different names every grant gets its own token', async () => {
      const same = await Promise.allSettled(
        [ALICE, BOB, { user: 'carol', proxy: 3 }].map((o) => store.grantLease('one', o, 'h', 100, 1000)),
      )
      assert.equal(same.filter((r) => r.status === 'fulfilled').length, 1)
      for (const r of same)
        if (r.status === 'rejected') assert.equal((r.reason as DfsError).code, 'DFS_LOCKED')
      const names = Array.from({ length: 12 }, (_, i) => `n${i}`)
      const tokens = (await Promise.all(names.map((n) => store.grantLease(n, ALICE, 'h', 100, 1000)))).map(
        (l) => l.token,
      )
      assert.equal(new Set(tokens).size, names.length)
      // A later grant on any name carries a larger token than every earlier one.
      await store.releaseLease('n0', { token: tokens[0]!, secretHash: 'h' }, ALICE)
      const again = await store.grantLease('n0', BOB, 'h', 200, 1000)
      assert.ok(tokens.every((t) => again.token > t))
    })

    test('a commit racing a lease grant on the same name: the write either lands first or is refused', async () => {
      for (let round = 0; round < 5; round++) {
        const name = `contested${round}`
        const [write, grant] = await Promise.allSettled([
          store.commit(version(name, 0, { writer: 'bob' }), 100),
          store.grantLease(name, ALICE, 'h', 100, 1000),
        ])
        assert.equal(grant.status, 'fulfilled')
        const file = await store.getFile(name)
        if (write.status === 'fulfilled') assert.equal(file?.writer, 'bob')
        else {
          assert.equal((write.reason as DfsError).code, 'DFS_LOCKED')
          assert.equal(file, undefined)
        }
      }
    })
  })
}
