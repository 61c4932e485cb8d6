// Accounts at the directory through its routes (app.inject, a clock the test moves): registration
// open and closed, password rules and hashes, sessions that end when idle, at their absolute end,
// at logout, at a password change and at the user's removal, and expired rows purged.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, scryptSync } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'

describe('accounts', () => {
  let directory: TestDirectory
  let app: FastifyInstance
  let now = 1_000_000

  before(async () => {
    directory = await testDirectory({ now: () => now })
    app = directory.app
  })
  after(async () => {
    await directory.close()
  })

  const login = (user: string, password = `${user}-password`) =>
    app.inject({ method: 'POST', url: '/v1/login', payload: { user, password } })
  const session = async (user: string, password?: string) => {
    const response = await login(user, password)
    assert.equal(response.statusCode, 200, response.body)
    return (response.json() as { token: string }).token
  }
  const call = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url, headers: { 'dfs-session': token }, ...(payload ? { payload } : {}) })
  const code = (response: { json(): unknown }) =>
    (response.json() as { error?: { code: string } }).error?.code

  test('the first user registered is the admin; a new password needs 8 characters', async () => {
    const short = await login('root', 'seven-7')
    assert.equal(short.statusCode, 400)
    assert.match(short.json().error.message, /at least 8 characters/)
    const root = await session('root')
    const alice = await session('alice')
    assert.equal((await call(root, 'GET', '/v1/users')).statusCode, 200)
    assert.equal(code(await call(alice, 'GET', '/v1/users')), 'DFS_FORBIDDEN')
    const added = await call(root, 'POST', '/v1/users', { user: 'carol', password: 'carol-password' })
    assert.equal(added.statusCode, 200, added.body)
    assert.equal(
      code(await call(root, 'POST', '/v1/users', { user: 'carol', password: 'xxxxxxxx' })),
      'DFS_EXISTS',
    )
    assert.equal(
      code(await call(root, 'POST', '/v1/users', { user: 'dan', password: 'short' })),
      'DFS_BAD_REQUEST',
    )
    assert.equal(
      code(await call(alice, 'POST', '/v1/users', { user: 'eve', password: 'eve-password' })),
      'DFS_FORBIDDEN',
    )
  })

  test('with registration closed, an unknown name cannot log in; users an admin added can', async () => {
    directory.service.accounts.config.registration = 'closed'
    try {
      const unknown = await login('mallory')
      assert.equal(unknown.statusCode, 401)
      assert.equal(
        unknown.json().error.message,
        'wrong user name or password',
        'the same answer as a wrong password',
      )
      assert.equal((await login('carol', 'carol-password')).statusCode, 200)
    } finally {
      directory.service.accounts.config.registration = 'open'
    }
  })

  test('a hash made with weaker scrypt parameters logs in and is rehashed at N=2^14, r=8, p=5', async () => {
    const salt = randomBytes(16)
    const key = scryptSync('old-password', salt, 32, { N: 16384, r: 8, p: 1 })
    const old = `scrypt$16384$8$1$${salt.toString('base64')}$${key.toString('base64')}`
    assert.ok(
      await directory.store.createUser({ name: 'olduser', passwordHash: old, created: now, admin: false }),
    )
    assert.equal((await login('olduser', 'wrong-password')).statusCode, 401)
    assert.equal(
      (await directory.store.getUser('olduser'))?.passwordHash,
      old,
      'a wrong password changes nothing',
    )
    await session('olduser', 'old-password')
    const upgraded = (await directory.store.getUser('olduser'))?.passwordHash ?? ''
    assert.match(upgraded, /^scrypt\$16384\$8\$5\$/)
    await session('olduser', 'old-password')
  })

  test('a session ends when idle, at its absolute end, and at logout', async () => {
    const config = directory.service.accounts.config
    const whoami = (token: string) =>
      app.inject({ method: 'POST', url: '/v1/sessions/check', payload: { token } })
    const idle = await session('alice')
    now += config.sessionIdleMs - 1000
    assert.equal((await whoami(idle)).statusCode, 200, 'used just before the idle timeout')
    now += config.sessionIdleMs - 1000
    assert.equal((await whoami(idle)).statusCode, 200, 'each use restarts the idle time')
    now += config.sessionIdleMs + 1
    assert.equal(code(await whoami(idle)), 'DFS_AUTH', 'unused past the idle timeout')

    const busy = await session('alice')
    const end = now + config.sessionMaxMs
    while (now < end - config.sessionIdleMs / 2) {
      now += config.sessionIdleMs / 2
      assert.equal((await whoami(busy)).statusCode, 200)
    }
    now = end
    assert.equal(code(await whoami(busy)), 'DFS_AUTH', 'however used, a session ends at its absolute end')

    const leaving = await session('alice')
    assert.deepEqual((await call(leaving, 'POST', '/v1/logout')).json(), { loggedOut: true })
    assert.equal(code(await whoami(leaving)), 'DFS_AUTH')
    assert.equal(code(await call(leaving, 'GET', '/v1/list')), 'DFS_AUTH', 'on every route')
  })

  test('a password change ends every session of that user; removing a user ends theirs', async () => {
    const first = await session('alice')
    const second = await session('alice')
    const wrongCurrent = await call(first, 'POST', '/v1/passwd', {
      current: 'nope-nope',
      password: 'alice-new-password',
    })
    assert.equal(code(wrongCurrent), 'DFS_AUTH')
    const changed = await call(first, 'POST', '/v1/passwd', {
      current: 'alice-password',
      password: 'alice-new-password',
    })
    assert.equal(changed.statusCode, 200, changed.body)
    const { sessionsEnded, session: fresh } = changed.json() as {
      sessionsEnded: number
      session: { token: string }
    }
    assert.ok(sessionsEnded >= 2)
    assert.equal(code(await call(second, 'GET', '/v1/list')), 'DFS_AUTH')
    assert.equal(
      (await call(fresh.token, 'GET', '/v1/list')).statusCode,
      200,
      'the changer gets a new session',
    )
    assert.equal(code(await login('alice')), 'DFS_AUTH', 'the old password is gone')

    const root = await session('root')
    const carol = await session('carol', 'carol-password')
    const byOther = await call(fresh.token, 'POST', '/v1/passwd', { user: 'carol', password: 'taken-over' })
    assert.equal(code(byOther), 'DFS_FORBIDDEN')
    assert.equal((await call(root, 'POST', '/v1/users/rm', { user: 'carol' })).statusCode, 200)
    assert.equal(code(await call(carol, 'GET', '/v1/list')), 'DFS_AUTH')
    assert.equal(
      code(await call(root, 'POST', '/v1/users/rm', { user: 'root' })),
      'DFS_CONFLICT',
      'the last admin stays',
    )
  })

  test('expired sessions are purged', async () => {
    await session('alice', 'alice-new-password')
    now += directory.service.accounts.config.sessionMaxMs + 1
    assert.ok((await directory.service.accounts.purgeSessions()) >= 1)
    assert.equal(await directory.service.accounts.purgeSessions(), 0)
  })
})
