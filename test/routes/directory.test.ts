// The directory's routes through app.inject(): no sockets, a real SQLite store in a temp dir.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { DirectoryClient } from '../../src/client/directory-client.ts'
import { BLOCK_SIZE, MAX_BLOCK_LIST_LENGTH, MAX_LISTED_BLOCKS } from '../../src/protocol/blocks.ts'
import { DEFAULT_DIRECTORY_CONFIG, type DirectoryService } from '../../src/roles/directory/service.ts'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'
import { injectFetch } from '../helpers/inject-fetch.ts'
import { as } from '../helpers/node-identity.ts'
import type {
  CommittedVersion,
  FileVersion,
  HeldLeaseView,
  Lease,
  Located,
  Placement,
  PlacementBatch,
  ServerView,
} from '../../src/protocol/types.ts'

const SHA_A = 'a'.repeat(64)
const SHA_B = 'b'.repeat(64)
const oneCopy = { expectedVersion: 0, sha256: SHA_A, size: 1, primary: 3, holders: [3], writer: 'alice' }

/** A block list of `count` digests that differ from each other (and from any other `seed`'s). */
function listOf(count: number, seed: number): string {
  const digests = Buffer.alloc(count * 32)
  for (let i = 0; i < digests.length; i++) digests[i] = (i * 13 + seed + (i >> 5)) & 0xff
  return digests.toString('base64')
}

describe('directory routes', () => {
  let directory: TestDirectory
  let app: FastifyInstance
  let service: DirectoryService
  let now = 1_000_000

  // Sessions of users the calls act for: root registered first (the admin), then alice and bob.
  const sessions: Record<string, string> = {}
  before(async () => {
    directory = await testDirectory({ now: () => now })
    ;({ app, service } = directory)
    for (const user of ['root', 'alice', 'bob']) {
      const login = await app.inject({
        method: 'POST',
        url: '/v1/login',
        payload: { user, password: `${user}-password` },
      })
      sessions[user] = (login.json() as { token: string }).token
    }
  })
  after(async () => {
    await directory.close()
  })

  // Each call as the node that makes it in a cluster: heartbeats and commits from the file server they
  // are about, everything else from a proxy (the identify default) acting for alice unless told.
  const post = (url: string, payload: unknown, user = 'alice', proxy = 1) => {
    const body = payload as { id?: number; primary?: number }
    const from =
      url === '/v1/servers/heartbeat'
        ? as('fileserver', Number.isInteger(body.id) && body.id! > 0 ? body.id! : 1)
        : url === '/v1/commits' && body.primary !== undefined
          ? as('fileserver', body.primary)
          : url === '/v1/placements/replacements'
            ? as('fileserver', 1)
            : url === '/v1/placements/batch'
              ? as(user === 'fileserver' ? 'fileserver' : 'proxy', proxy)
              : { ...as('proxy', proxy), 'dfs-session': sessions[user]! }
    return app.inject({ method: 'POST', url, payload: payload as object, headers: from })
  }
  const get = (url: string, user = 'alice') =>
    app.inject({ method: 'GET', url, headers: { 'dfs-session': sessions[user]! } })

  test('heartbeats register servers; bad heartbeats are refused', async () => {
    for (const id of [1, 2, 3]) {
      const response = await post('/v1/servers/heartbeat', {
        id,
        url: `https://127.0.0.1:60${id}0`,
        freeBytes: 1e9 * id,
      })
      assert.equal(response.statusCode, 200)
    }
    const bad = await post('/v1/servers/heartbeat', { id: 0, url: 'http://x', freeBytes: -1 })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().error.code, 'DFS_BAD_REQUEST')
    const servers = (await app.inject('/v1/servers')).json() as { id: number; live: boolean }[]
    assert.deepEqual(
      servers.map((s) => [s.id, s.live]),
      [
        [1, true],
        [2, true],
        [3, true],
      ],
    )
  })

  test("a heartbeat's job states show in the server list until a heartbeat without them", async () => {
    const jobs = {
      inventory: { lastError: { at: now, message: 'directory unreachable' } },
      scrub: { lastOk: now },
    }
    const beat = (body: object) =>
      post('/v1/servers/heartbeat', { id: 1, url: 'https://127.0.0.1:6010', freeBytes: 1e9, ...body })
    assert.equal((await beat({ jobs })).statusCode, 200)
    const server = async () =>
      ((await app.inject('/v1/servers')).json() as ServerView[]).find((s) => s.id === 1)
    assert.deepEqual((await server())?.jobs, jobs)
    const tooLong = { inventory: { lastError: { at: now, message: 'x'.repeat(501) } } }
    assert.equal((await beat({ jobs: tooLong })).statusCode, 400, 'a reason is bounded')
    // Fastify's validator drops properties a schema does not allow, as everywhere else.
    assert.equal((await beat({ jobs: { other: { lastOk: now } } })).statusCode, 200)
    assert.deepEqual((await server())?.jobs, {}, 'only known jobs are kept')
    assert.equal((await beat({})).statusCode, 200)
    assert.equal((await server())?.jobs, undefined)
  })
  test('placement picks two distinct live servers and refuses an existing name', async () => {
    const response = await post('/v1/placements', { name: 'a/b.txt', size: 10 })
    assert.equal(response.statusCode, 200)
    const placement = response.json() as Placement
    assert.equal(placement.expectedVersion, 0)
    assert.equal(placement.replicas.length, 1)
    assert.notEqual(placement.primary.id, placement.replicas[0]?.id)

    const commit = await post('/v1/commits', {
      name: 'a/b.txt',
      expectedVersion: 0,
      sha256: SHA_A,
      size: 10,
      primary: placement.primary.id,
      holders: [placement.primary.id, placement.replicas[0]?.id],
      writer: 'alice',
    })
    assert.equal(commit.statusCode, 200)
    assert.equal((commit.json() as FileVersion).version, 1)

    const again = await post('/v1/placements', { name: 'a/b.txt', size: 10 })
    assert.equal(again.statusCode, 409)
    assert.equal(again.json().error.code, 'DFS_EXISTS')
  })

  test('a proxy gets placements for new files ahead of its writes, each on distinct live servers', async () => {
    const response = await post('/v1/placements/batch', { size: 4096, count: 8 })
    assert.equal(response.statusCode, 200, response.body)
    const batch = response.json() as PlacementBatch
    assert.equal(batch.wanted, 2)
    assert.equal(batch.placements.length, 8)
    for (const placement of batch.placements) {
      assert.equal(placement.replicas.length, 1)
      assert.notEqual(placement.primary.id, placement.replicas[0]?.id)
    }
    const tooBig = await post('/v1/placements/batch', { size: 1e15, count: 1 })
    assert.equal(tooBig.json().error.code, 'DFS_NO_SPACE')
    const notAProxy = await post('/v1/placements/batch', { size: 1, count: 1 }, 'fileserver')
    assert.equal(notAProxy.statusCode, 403)
  })

  test('a lease lets its holder replace a name on the same servers; others wait or are refused', async () => {
    const granted = await post('/v1/locks', { name: 'a/b.txt', ttlMs: 30_000, waitMs: 0 })
    assert.equal(granted.statusCode, 200, granted.body)
    const lease = granted.json() as HeldLeaseView
    const current = (await get('/v1/files?name=a/b.txt')).json() as Located
    assert.deepEqual(current.lock && [current.lock.user, current.lock.waiting], ['alice', 0])

    const placement = (
      await post('/v1/placements', { name: 'a/b.txt', size: 10, lease: lease.key })
    ).json() as Placement
    assert.equal(placement.expectedVersion, 1)
    assert.deepEqual([placement.primary.id, ...placement.replicas.map((r) => r.id)], current.holders)

    const busy = await post('/v1/locks', { name: 'a/b.txt', ttlMs: 30_000, waitMs: 0 }, 'bob', 2)
    assert.equal(busy.statusCode, 423)
    assert.equal(busy.json().error.code, 'DFS_LOCKED')
    assert.match(busy.json().error.message, /alice/)
    const unfenced = await post('/v1/commits', {
      name: 'a/b.txt',
      expectedVersion: 1,
      sha256: SHA_B,
      size: 3,
      primary: 1,
      holders: [1, 2],
      writer: 'bob',
    })
    assert.equal(unfenced.json().error.code, 'DFS_LOCKED')
    const removed = await app.inject({
      method: 'DELETE',
      url: '/v1/files?name=a/b.txt',
      headers: { 'dfs-session': sessions.alice! },
    })
    assert.equal(removed.json().error.code, 'DFS_LOCKED')

    const renewed = await post('/v1/locks/renew', { name: 'a/b.txt', lease: lease.key, ttlMs: 10_000 })
    assert.equal((renewed.json() as Lease).token, lease.token)
    assert.deepEqual((await post('/v1/locks/release', { name: 'a/b.txt', lease: lease.key })).json(), {
      released: true,
    })
    const next = (
      await post('/v1/locks', { name: 'a/b.txt', ttlMs: 30_000, waitMs: 0 }, 'bob', 2)
    ).json() as HeldLeaseView
    assert.ok(next.token > lease.token, 'fencing tokens only grow')
    const stale = await post('/v1/placements', { name: 'a/b.txt', size: 1, lease: lease.key })
    assert.equal(stale.json().error.code, 'DFS_CONFLICT')
    await post('/v1/locks/release', { name: 'a/b.txt', lease: next.key }, 'bob', 2)
  })

  test("a lease key is the holder's alone: guessed, borrowed or replayed keys are refused", async () => {
    const lease = (
      await post('/v1/locks', { name: 'a/b.txt', ttlMs: 30_000, waitMs: 0 }, 'bob', 2)
    ).json() as HeldLeaseView
    assert.match(lease.key, /^\d+\.[A-Za-z0-9_-]{43}$/)
    const [token, secret] = lease.key.split('.') as [string, string]
    const guessed = `${token}.${'A'.repeat(43)}`
    const renew = (key: string, user: string, proxy: number) =>
      post('/v1/locks/renew', { name: 'a/b.txt', lease: key, ttlMs: 10_000 }, user, proxy)
    assert.equal((await renew(guessed, 'bob', 2)).json().error.code, 'DFS_CONFLICT', 'a guessed secret')
    assert.equal((await renew(lease.key, 'alice', 2)).json().error.code, 'DFS_CONFLICT', 'another user')
    assert.equal((await renew(lease.key, 'bob', 1)).json().error.code, 'DFS_CONFLICT', 'another proxy')
    assert.equal((await renew(token, 'bob', 2)).statusCode, 400, 'a bare fencing number')
    const stolen = await post('/v1/locks/release', { name: 'a/b.txt', lease: lease.key }, 'alice', 1)
    assert.deepEqual(stolen.json(), { released: false })
    const borrowed = await post('/v1/placements', { name: 'a/b.txt', size: 1, lease: lease.key }, 'alice')
    assert.equal(borrowed.json().error.code, 'DFS_CONFLICT')
    const commit = {
      name: 'a/b.txt',
      sha256: SHA_A,
      size: 1,
      primary: 1,
      holders: [1, 2],
      expectedVersion: 1,
    }
    const forged = await post('/v1/commits', { ...commit, writer: 'bob', lease: guessed })
    assert.equal(forged.json().error.code, 'DFS_CONFLICT', 'a commit with a guessed secret')
    const otherWriter = await post('/v1/commits', { ...commit, writer: 'alice', lease: lease.key })
    assert.equal(otherWriter.json().error.code, 'DFS_CONFLICT', 'a commit by someone else under it')
    assert.equal((await renew(lease.key, 'bob', 2)).statusCode, 200, 'the holder still holds it')
    assert.equal(secret.length, 43)
    const released = await post('/v1/locks/release', { name: 'a/b.txt', lease: lease.key }, 'bob', 2)
    assert.deepEqual(released.json(), { released: true })
    const replayed = await post('/v1/commits', { ...commit, writer: 'bob', lease: lease.key })
    assert.equal(replayed.json().error.code, 'DFS_CONFLICT', 'a released lease writes nothing')
    assert.equal((await renew(lease.key, 'bob', 2)).json().error.code, 'DFS_CONFLICT', 'nor renews')
  })

  test('commits are compare-and-set on the version and fenced by the newest token', async () => {
    const lease = (
      await post('/v1/locks', { name: 'a/b.txt', ttlMs: 30_000, waitMs: 0 }, 'bob', 2)
    ).json() as HeldLeaseView
    const base = {
      name: 'a/b.txt',
      sha256: SHA_B,
      size: 3,
      primary: 1,
      holders: [1, 2],
      writer: 'bob',
      lease: lease.key,
    }
    const older = lease.key.replace(/^\d+/, String(lease.token - 1))
    const old = await post('/v1/commits', { ...base, lease: older, expectedVersion: 1 })
    assert.equal(old.json().error.code, 'DFS_CONFLICT')
    const stale = await post('/v1/commits', { ...base, expectedVersion: 0 })
    assert.equal(stale.statusCode, 409)
    assert.equal(stale.json().error.code, 'DFS_CONFLICT')
    const ok = await post('/v1/commits', { ...base, expectedVersion: 1 })
    assert.equal((ok.json() as FileVersion).version, 2)
    const late = await post('/v1/commits', { ...base, expectedVersion: 1 })
    assert.equal(late.json().error.code, 'DFS_CONFLICT')
    const current = (await get('/v1/files?name=a/b.txt')).json() as FileVersion
    assert.equal(current.sha256, SHA_B)
    assert.equal(current.version, 2)
    await post('/v1/locks/release', { name: 'a/b.txt', lease: lease.key }, 'bob', 2)
  })

  test('servers silent past the live window are not placed; below --min-copies a write is refused', async () => {
    now += DEFAULT_DIRECTORY_CONFIG.liveAfterMs + 1
    await post('/v1/servers/heartbeat', { id: 3, url: 'https://127.0.0.1:6030', freeBytes: 1e9 })
    const refused = await post('/v1/placements', { name: 'lonely', size: 1 })
    assert.equal(refused.statusCode, 503)
    assert.equal(refused.json().error.code, 'DFS_UNAVAILABLE')
    assert.match(
      refused.json().error.message,
      /only 1 of 3 file servers is live and reachable; a write needs 2/,
    )

    service.config.minCopies = 1
    try {
      const placement = (await post('/v1/placements', { name: 'lonely', size: 1 })).json() as Placement
      assert.equal(placement.primary.id, 3)
      assert.equal(placement.replicas.length, 0)
      assert.equal(placement.wanted, 2)
      const commit = await post('/v1/commits', { ...oneCopy, name: 'lonely' })
      assert.equal(commit.statusCode, 200)
      assert.equal((commit.json() as CommittedVersion).wanted, 2)
    } finally {
      service.config.minCopies = 2
    }
    const short = await post('/v1/commits', { ...oneCopy, name: 'short' })
    assert.equal(short.json().error.code, 'DFS_UNAVAILABLE')
    assert.match(
      short.json().error.message,
      /only 1 copy of short could be made \(1 of 3 file servers live and reachable\); a write needs 2/,
    )
    assert.equal((await get('/v1/files?name=short')).statusCode, 404)
  })

  test('an unreachable server is not placed on until it heartbeats again; placements avoid what was tried', async () => {
    for (const id of [1, 2, 3]) {
      await post('/v1/servers/heartbeat', { id, url: `https://127.0.0.1:60${id}0`, freeBytes: 1e9 })
    }
    assert.equal((await post('/v1/servers/2/unreachable', { reason: 'ECONNREFUSED' })).statusCode, 200)
    for (let i = 0; i < 10; i++) {
      const placement = (await post('/v1/placements', { name: `u${i}`, size: 1 })).json() as Placement
      assert.deepEqual([placement.primary.id, ...placement.replicas.map((r) => r.id)].toSorted(), [1, 3])
    }
    const avoided = (await post('/v1/placements', { name: 'u', size: 1, avoid: [1] })).json()
    assert.equal(avoided.error.code, 'DFS_UNAVAILABLE', 'only server 3 is left, and a write needs 2')
    assert.match(avoided.error.message, /only 1 of 3 file servers is live and reachable/)
    await post('/v1/servers/heartbeat', { id: 2, url: 'https://127.0.0.1:6020', freeBytes: 1e9 })
    const back = (await post('/v1/placements', { name: 'u', size: 1, avoid: [1] })).json() as Placement
    assert.deepEqual([back.primary.id, ...back.replicas.map((r) => r.id)].toSorted(), [2, 3])
    const replacements = (
      await post('/v1/placements/replacements', { size: 1, count: 2, avoid: [1, 3] })
    ).json() as { id: number }[]
    assert.deepEqual(
      replacements.map((r) => r.id),
      [2],
    )
  })

  test('a listing pages through every name with a cursor, never truncating, showing only what the user may read', async () => {
    // 2,500 names, every third one private to alice: more than one page, and more than a scan for bob.
    for (let i = 0; i < 2500; i++) {
      const name = `many/${String(i).padStart(5, '0')}`
      await directory.store.commit(
        {
          ...oneCopy,
          name,
          holders: [1, 2],
          perms: { owner: 'alice', group: 'users', mode: i % 3 === 0 ? 0o600 : 0o664 },
        },
        now,
      )
    }
    const all = async (user: string, limit?: number) => {
      const names: string[] = []
      let after: string | undefined
      for (let pages = 0; pages < 100; pages++) {
        const query = new URLSearchParams({
          prefix: 'many/',
          ...(after ? { after } : {}),
          ...(limit ? { limit: String(limit) } : {}),
        })
        const page = (await get(`/v1/list?${query}`, user)).json() as { files: FileVersion[]; next?: string }
        if (limit) assert.ok(page.files.length <= limit)
        names.push(...page.files.map((f) => f.name))
        if (!page.next) return names
        after = page.next
      }
      assert.fail('the cursor never ended')
    }
    const alices = await all('alice')
    assert.equal(alices.length, 2500)
    assert.deepEqual(alices, [...alices].sort(), 'in name order')
    const bobs = await all('bob', 700)
    assert.equal(bobs.length, 2500 - 834)
    assert.ok(
      bobs.every((name) => Number(name.slice(5)) % 3 !== 0),
      'only what bob may read',
    )
    const first = (await get('/v1/list?prefix=many/&limit=3')).json() as {
      files: FileVersion[]
      next?: string
    }
    assert.deepEqual(
      first.files.map((f) => f.name),
      ['many/00000', 'many/00001', 'many/00002'],
    )
    assert.equal(first.next, 'many/00002')
  })

  test('a commit carries its block list: checked against the size, kept, and handed out only when asked', async () => {
    const three = { size: 2 * BLOCK_SIZE + 1, sha256: SHA_A, primary: 1, holders: [1, 2], writer: 'alice' }
    const commit = (name: string, body: object) =>
      post('/v1/commits', { name, expectedVersion: 0, ...three, ...body })
    const refusals: [string, object][] = [
      ['two digests for three blocks', { blocks: listOf(2, 1) }],
      ['a list for a one-block file', { size: BLOCK_SIZE, blocks: listOf(1, 1) }],
      ['base64 that is not canonical', { blocks: `${listOf(3, 1).slice(0, -1)}=` }],
      ['not base64 at all', { blocks: '!'.repeat(128) }],
      ['longer than any list kept', { blocks: 'A'.repeat(MAX_BLOCK_LIST_LENGTH + 4) }],
    ]
    for (const [why, body] of refusals) {
      const refused = await commit('blocks/refused.bin', body)
      assert.equal(refused.statusCode, 400, why)
      assert.equal(refused.json().error.code, 'DFS_BAD_REQUEST', why)
    }
    assert.equal((await get('/v1/files?name=blocks/refused.bin')).statusCode, 404, 'nothing was committed')

    const list = listOf(3, 1)
    const ok = await commit('blocks/three.bin', { blocks: list })
    assert.equal(ok.statusCode, 200, ok.body)
    assert.equal('blocks' in ok.json(), false, 'the acknowledgement does not echo it')
    const plain = (await get('/v1/files?name=blocks/three.bin')).json() as Located
    assert.equal(plain.blocks, undefined, 'not unless asked')
    assert.equal(
      ((await get('/v1/files?name=blocks/three.bin&blocks=false')).json() as Located).blocks,
      undefined,
    )
    const asked = (await get('/v1/files?name=blocks/three.bin&blocks=true')).json() as Located
    assert.equal(asked.blocks, list)
    assert.deepEqual(
      asked.servers.map((s) => s.id),
      [1, 2],
    )
    assert.equal((await get('/v1/files?name=blocks/three.bin&blocks=maybe')).statusCode, 400)

    // A file server from before lists sends none: the version just has none.
    const older = await commit('blocks/unlisted.bin', {})
    assert.equal(older.statusCode, 200, older.body)
    assert.equal(
      ((await get('/v1/files?name=blocks/unlisted.bin&blocks=true')).json() as Located).blocks,
      undefined,
    )

    // The longest list kept (a 64 GiB file) fits the commit's JSON body, and a 10 GiB file's is well inside.
    for (const count of [2560, MAX_LISTED_BLOCKS]) {
      const name = `blocks/${count}.bin`
      const long = listOf(count, 2)
      const committed = await commit(name, { size: count * BLOCK_SIZE, blocks: long })
      assert.equal(committed.statusCode, 200, `${count} blocks: ${committed.body.slice(0, 200)}`)
      const located = (await get(`/v1/files?name=${name}&blocks=true`)).json() as Located
      assert.equal(located.blocks, long, `${count} blocks`)
    }
  })

  test('GET /v1/blocks finds the newest kept version with given bytes; a restore carries its list', async () => {
    const body = { primary: 1, holders: [1, 2], writer: 'alice' }
    const first = listOf(2, 3)
    const name = 'blocks/history.bin'
    const size = BLOCK_SIZE + 5
    await post('/v1/commits', { ...body, name, expectedVersion: 0, sha256: SHA_A, size, blocks: first })
    await post('/v1/commits', { ...body, name, expectedVersion: 1, sha256: SHA_B, size: 10 })
    const user = new DirectoryClient('https://directory.test', injectFetch(directory.app)).forUser(
      sessions.alice!,
    )
    assert.deepEqual(await user.blocks(name, SHA_A), { name, sha256: SHA_A, size, blocks: first })
    assert.deepEqual(await user.blocks(name, SHA_B), { name, sha256: SHA_B, size: 10 }, 'one block: no list')
    await assert.rejects(user.blocks(name, 'c'.repeat(64)), { code: 'DFS_NOT_FOUND' })
    await assert.rejects(user.blocks('blocks/nothing.bin', SHA_A), { code: 'DFS_NOT_FOUND' })
    const bad = await get(`/v1/blocks?name=${name}&sha256=ABC`)
    assert.equal(bad.json().error.code, 'DFS_BAD_REQUEST')
    assert.equal((await get(`/v1/blocks?name=..%2Fx&sha256=${SHA_A}`)).json().error.code, 'DFS_BAD_NAME')

    // Restoring version 1 makes version 3 with version 1's list, current and found by its bytes.
    const restored = await post('/v1/restore', { name, version: 1 })
    assert.equal(restored.statusCode, 200, restored.body)
    const located = await user.locate(name, { blocks: true })
    assert.deepEqual([located.version, located.sha256, located.blocks], [3, SHA_A, first])
    assert.equal((await user.locate(name)).blocks, undefined)
    assert.deepEqual(await user.blocks(name, SHA_A), { name, sha256: SHA_A, size, blocks: first })

    // Whoever may not read the name learns nothing of it, by either route.
    assert.equal((await post('/v1/perms', { name, mode: '600' })).statusCode, 200)
    const bob = new DirectoryClient('https://directory.test', injectFetch(directory.app)).forUser(
      sessions.bob!,
    )
    await assert.rejects(bob.blocks(name, SHA_A), { code: 'DFS_FORBIDDEN' })
    await assert.rejects(bob.locate(name, { blocks: true }), { code: 'DFS_FORBIDDEN' })
    const anonymous = await app.inject(`/v1/blocks?name=${name}&sha256=${SHA_A}`)
    assert.equal(anonymous.json().error.code, 'DFS_AUTH')
    const fromFileServer = await app.inject({
      url: `/v1/blocks?name=${name}&sha256=${SHA_A}`,
      headers: { ...as('fileserver', 1), 'dfs-session': sessions.alice! },
    })
    assert.equal(fromFileServer.json().error.code, 'DFS_FORBIDDEN', 'only proxies ask for users')
  })

  test('bad names are refused everywhere with DFS_BAD_NAME', async () => {
    for (const name of ['../x', '/abs', 'a\u0000b', '']) {
      const placement = await post('/v1/placements', { name, size: 1 })
      assert.equal(placement.json().error.code, 'DFS_BAD_NAME', JSON.stringify(name))
      const read = await get(`/v1/files?name=${encodeURIComponent(name)}`)
      assert.equal(read.json().error.code, 'DFS_BAD_NAME', JSON.stringify(name))
    }
  })

  test('the first login registers a user, a wrong password is refused, sessions check out', async () => {
    const first = await post('/v1/login', { user: 'carol', password: 'carol-pw-1' })
    assert.equal(first.statusCode, 200)
    const { token } = first.json() as { token: string }
    const wrong = await post('/v1/login', { user: 'carol', password: 'carol-pw-2' })
    assert.equal(wrong.statusCode, 401)
    assert.equal(wrong.json().error.code, 'DFS_AUTH')
    const check = await post('/v1/sessions/check', { token })
    assert.deepEqual(check.json().user, 'carol')
    assert.equal(check.json().admin, false, 'only the first user is an admin')
    const forged = await post('/v1/sessions/check', { token: 'x'.repeat(43) })
    assert.equal(forged.statusCode, 401)
    const badUser = await post('/v1/login', { user: '../root', password: 'x' })
    assert.equal(badUser.statusCode, 400)
  })

  test('failed logins are throttled per user and per address; a lockout refuses the right password too', async () => {
    const login = (user: string, password: string, client = '10.0.0.1') =>
      app.inject({ method: 'POST', url: '/v1/login', payload: { user, password, client } })
    assert.equal((await login('dave', 'right-password')).statusCode, 200)
    for (let i = 0; i < 3; i++)
      assert.equal((await login('dave', 'wrong-password')).json().error.code, 'DFS_AUTH')
    const locked = await login('dave', 'right-password')
    assert.equal(locked.statusCode, 429)
    assert.equal(locked.json().error.code, 'DFS_RATE_LIMITED')
    assert.match(locked.json().error.message, /too many failed logins for dave; try again in 1 s/)
    assert.equal(locked.headers['retry-after'], '1')
    now += 1001
    assert.equal(
      (await login('dave', 'right-password')).statusCode,
      200,
      'the lockout ends, and success resets it',
    )
    assert.equal((await login('dave', 'wrong-password')).json().error.code, 'DFS_AUTH')

    // One address guessing across many user names is held back too; another address is not.
    for (let i = 0; i < 10; i++) {
      assert.equal((await login(`user${i}`, 'their-password', '10.0.0.3')).statusCode, 200)
      assert.equal((await login(`user${i}`, 'a-guess', '10.0.0.9')).json().error.code, 'DFS_AUTH')
    }
    const flood = await login('erin', 'whatever', '10.0.0.9')
    assert.equal(flood.json().error.code, 'DFS_RATE_LIMITED')
    assert.match(flood.json().error.message, /from 10\.0\.0\.9/)
    assert.equal((await login('erin', 'erin-password', '10.0.0.2')).statusCode, 200)
  })
})
