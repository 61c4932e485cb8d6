// The audit log as the directory's routes keep it, through app.inject(): who logged in or failed to,
// who wrote, removed, restored or changed permissions (refused attempts too), who managed users,
// groups, tokens and nodes, from which address; and only admins read it back.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import type { AuditEntry, CreatedToken } from '../../src/protocol/types.ts'
import { makeCsr } from '../../src/tls/ca.ts'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'
import { as } from '../helpers/node-identity.ts'

const SHA = 'c'.repeat(64)

describe('the audit log of the directory', () => {
  let directory: TestDirectory
  let app: FastifyInstance
  let now = Date.UTC(2026, 11, 1, 12, 0, 0)
  const sessions: Record<string, string> = {}
  const address: Record<string, string> = { root: '10.0.0.1', bob: '10.0.0.2' }

  const login = (user: string, password: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/login',
      payload: { user, password, client: address[user] },
    })

  before(async () => {
    directory = await testDirectory({ now: () => now })
    ;({ app } = directory)
    // root registers first, so is the admin.
    for (const user of ['root', 'bob']) {
      sessions[user] = ((await login(user, `${user}-password`)).json() as { token: string }).token
    }
    for (const id of [1, 2]) {
      await app.inject({
        method: 'POST',
        url: '/v1/servers/heartbeat',
        headers: as('fileserver', id),
        payload: { id, url: `https://127.0.0.1:60${id}0`, freeBytes: 1e9 },
      })
    }
  })
  after(async () => {
    await directory.close()
  })

  /** A call through proxy 1 for `user`, who connected from their address. */
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, user: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: { ...as('proxy', 1), 'dfs-session': sessions[user]!, 'dfs-client': address[user]! },
      ...(payload ? { payload } : {}),
    })
  const commit = (name: string, expectedVersion: number, writer: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/commits',
      headers: as('fileserver', 1),
      payload: {
        name,
        expectedVersion,
        sha256: SHA,
        size: 5,
        primary: 1,
        holders: [1, 2],
        writer,
        client: address[writer],
      },
    })
  const audit = async (query: string) => {
    const response = await call('GET', `/v1/audit?${query}`, 'root')
    assert.equal(response.statusCode, 200, response.body)
    return response.json() as AuditEntry[]
  }
  /** Each entry as [action, user or node, client, name, version, outcome]. */
  const brief = (entries: AuditEntry[]) =>
    entries.map((e) => [e.action, e.user ?? e.node, e.client, e.name, e.version, e.outcome])

  test('logins are recorded with their outcome: in, a wrong password, a locked-out attempt', async () => {
    now += 60 * 60_000
    const since = now
    for (let i = 0; i < 3; i++) await login('bob', 'wrong-password')
    const locked = await login('bob', 'bob-password')
    assert.equal(locked.json().error.code, 'DFS_RATE_LIMITED')
    const entries = await audit(`user=bob&since=${since}`)
    assert.deepEqual(
      entries.map((e) => [e.action, e.client, e.node, e.outcome]),
      [
        ['login', '10.0.0.2', 'proxy 1', 'DFS_AUTH'],
        ['login', '10.0.0.2', 'proxy 1', 'DFS_AUTH'],
        ['login', '10.0.0.2', 'proxy 1', 'DFS_AUTH'],
        ['login', '10.0.0.2', 'proxy 1', 'DFS_RATE_LIMITED'],
      ],
    )
    assert.equal(entries[0]!.detail, 'wrong user name or password')
    assert.match(entries[3]!.detail ?? '', /too many failed logins for bob/)
    assert.equal(entries[0]!.time, new Date(entries[0]!.ms).toISOString())
    // Before: the two logins that opened the sessions.
    assert.deepEqual(brief(await audit(`user=root`)).slice(0, 1), [
      ['login', 'root', '10.0.0.1', undefined, undefined, 'ok'],
    ])
  })

  test("writes, removals, restores and chmod/chown are recorded, refused ones too, with the user's address", async () => {
    now += 60 * 60_000
    const since = now
    assert.equal((await commit('r/one.txt', 0, 'root')).statusCode, 200)
    assert.equal(
      (await call('POST', '/v1/perms', 'root', { name: 'r/one.txt', mode: '600' })).statusCode,
      200,
    )
    const refused = await call('POST', '/v1/placements', 'bob', { name: 'r/one.txt', size: 5 })
    assert.equal(refused.json().error.code, 'DFS_FORBIDDEN')
    assert.equal((await call('DELETE', '/v1/files?name=r/one.txt', 'bob')).statusCode, 403)
    assert.equal((await call('POST', '/v1/perms', 'bob', { name: 'r/one.txt', mode: '666' })).statusCode, 403)
    assert.equal((await call('POST', '/v1/perms', 'bob', { name: 'r/', mode: '700' })).statusCode, 403)
    assert.equal(
      (await call('POST', '/v1/perms', 'root', { name: 'r/one.txt', owner: 'bob', mode: 'g+w' })).statusCode,
      200,
    )
    assert.equal(
      (await call('POST', '/v1/restore', 'root', { name: 'r/one.txt', version: 1 })).statusCode,
      200,
    )
    assert.equal((await call('DELETE', '/v1/files?name=r/one.txt', 'root')).statusCode, 200)

    const entries = await audit(`since=${since}`)
    assert.deepEqual(brief(entries), [
      ['write', 'root', '10.0.0.1', 'r/one.txt', 1, 'ok'],
      ['chmod', 'root', '10.0.0.1', 'r/one.txt', undefined, 'ok'],
      ['write', 'bob', '10.0.0.2', 'r/one.txt', undefined, 'DFS_FORBIDDEN'],
      ['rm', 'bob', '10.0.0.2', 'r/one.txt', undefined, 'DFS_FORBIDDEN'],
      ['chmod', 'bob', '10.0.0.2', 'r/one.txt', undefined, 'DFS_FORBIDDEN'],
      ['rule', 'bob', '10.0.0.2', 'r/', undefined, 'DFS_FORBIDDEN'],
      ['chown', 'root', '10.0.0.1', 'r/one.txt', undefined, 'ok'],
      ['chmod', 'root', '10.0.0.1', 'r/one.txt', undefined, 'ok'],
      ['restore', 'root', '10.0.0.1', 'r/one.txt', 2, 'ok'],
      ['rm', 'root', '10.0.0.1', 'r/one.txt', 2, 'ok'],
    ])
    const [write, chmod, , , , , chown, groupWrite, restore] = entries
    assert.equal(write!.node, 'fileserver 1', 'a commit comes from its primary')
    assert.equal(write!.detail, `5 bytes, sha256 ${SHA.slice(0, 16)}`)
    assert.equal(chmod!.node, 'proxy 1')
    assert.equal(chmod!.detail, 'mode 600: now root:users 600')
    assert.equal(chown!.detail, 'owner bob: now bob:users 600')
    assert.equal(groupWrite!.detail, 'mode g+w: now bob:users 620')
    assert.equal(restore!.detail, 'version 1: as version 2')
    assert.match(entries[2]!.detail ?? '', /bob may not write r\/one\.txt/)
  })

  test('users, groups, passwords, sessions, join tokens and nodes are recorded', async () => {
    now += 60 * 60_000
    const since = now
    const ok = async (method: 'GET' | 'POST', url: string, payload?: object, user = 'root') => {
      const response = await call(method, url, user, payload)
      assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
      return response
    }
    await ok('POST', '/v1/users', { user: 'carol', password: 'carol-password', admin: true })
    await ok('POST', '/v1/groups', { group: 'team', users: ['carol'] })
    await ok('POST', '/v1/groups/rm', { group: 'team' })
    await ok('POST', '/v1/passwd', { user: 'carol', password: 'carol-new-password' })
    await ok('POST', '/v1/users/rm', { user: 'carol' })
    assert.equal(
      (await call('POST', '/v1/users', 'bob', { user: 'x', password: 'x-password' })).statusCode,
      403,
    )
    const created = (await ok('POST', '/v1/tokens', { role: 'fileserver', ttlMs: 60_000, uses: 1 })).json()
    const { token, view } = created as CreatedToken
    const joined = await app.inject({
      method: 'POST',
      url: '/v1/join',
      headers: { 'x-test-node': 'none' },
      payload: { token, role: 'fileserver', id: 9, csr: makeCsr({ role: 'fileserver', id: 9 }).csr },
    })
    assert.equal(joined.statusCode, 200, joined.body)
    await ok('POST', '/v1/tokens/revoke', { id: view.id })
    await ok('POST', '/v1/nodes/drain', { id: 2 })
    await ok('POST', '/v1/nodes/rm', { role: 'fileserver', id: 9 })
    await ok('POST', '/v1/logout', undefined, 'bob')

    const entries = await audit(`since=${since}`)
    assert.deepEqual(brief(entries), [
      ['user.add', 'root', '10.0.0.1', 'carol', undefined, 'ok'],
      ['group.add', 'root', '10.0.0.1', 'team', undefined, 'ok'],
      ['group.rm', 'root', '10.0.0.1', 'team', undefined, 'ok'],
      ['passwd', 'root', '10.0.0.1', 'carol', undefined, 'ok'],
      ['user.rm', 'root', '10.0.0.1', 'carol', undefined, 'ok'],
      ['user.add', 'bob', '10.0.0.2', 'x', undefined, 'DFS_FORBIDDEN'],
      ['token.create', 'root', '10.0.0.1', view.id, undefined, 'ok'],
      // The joining node calls the directory itself, from its own address.
      ['node.join', 'fileserver 9', '127.0.0.1', undefined, undefined, 'ok'],
      ['token.revoke', 'root', '10.0.0.1', view.id, undefined, 'ok'],
      ['node.drain', 'root', '10.0.0.1', 'fileserver 2', undefined, 'ok'],
      ['node.rm', 'root', '10.0.0.1', 'fileserver 9', undefined, 'ok'],
      ['logout', 'bob', '10.0.0.2', undefined, undefined, 'ok'],
    ])
    assert.equal(entries[0]!.detail, 'as admin')
    assert.equal(entries[1]!.detail, 'members carol')
    assert.equal(entries[2]!.detail, 'the whole group')
    assert.equal(entries[3]!.detail, '0 sessions ended')
    assert.equal(entries[7]!.detail, `token ${view.id}`)
    // No password is ever written, not even a wrong one.
    const text = await readFile(directory.audit.path, 'utf8')
    for (const secret of ['root-password', 'bob-password', 'wrong-password', 'carol-', token])
      assert.ok(!text.includes(secret), `the log holds ${secret}`)
    sessions.bob = ((await login('bob', 'bob-password')).json() as { token: string }).token
  })

  test('only an admin reads the log, filtered by user, time and count', async () => {
    const bob = await call('GET', '/v1/audit', 'bob')
    assert.equal(bob.statusCode, 403)
    assert.equal(bob.json().error.code, 'DFS_FORBIDDEN')
    const all = await audit('')
    assert.ok(all.length > 20)
    assert.deepEqual(
      all.map((e) => e.ms),
      all.map((e) => e.ms).sort((a, b) => a - b),
      'oldest first',
    )
    assert.deepEqual(await audit('limit=2'), all.slice(-2), 'the newest two')
    const cut = all[10]!.ms
    assert.deepEqual(
      await audit(`since=${cut}`),
      all.filter((e) => e.ms >= cut),
    )
    assert.deepEqual(await audit('user=bob&limit=3'), all.filter((e) => e.user === 'bob').slice(-3))
    assert.equal((await call('GET', '/v1/audit?limit=0', 'root')).statusCode, 400)
  })

  test("a proxy's client address must be an address; nobody else's is taken", async () => {
    const bad = await app.inject({
      url: '/v1/list',
      headers: { ...as('proxy', 1), 'dfs-session': sessions.root!, 'dfs-client': 'evil\nline' },
    })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().error.code, 'DFS_BAD_REQUEST')
    now += 60 * 60_000
    const since = now
    // A file server's header is not read: it has no user's connection to speak of.
    const fromServer = await app.inject({
      method: 'POST',
      url: '/v1/commits',
      headers: { ...as('fileserver', 1), 'dfs-client': '10.9.9.9' },
      payload: {
        name: 'r/two.txt',
        expectedVersion: 0,
        sha256: SHA,
        size: 5,
        primary: 1,
        holders: [1, 2],
        writer: 'root',
      },
    })
    assert.equal(fromServer.statusCode, 200, fromServer.body)
    assert.deepEqual(brief(await audit(`since=${since}`)), [
      ['write', 'root', undefined, 'r/two.txt', 1, 'ok'],
    ])
  })
})
