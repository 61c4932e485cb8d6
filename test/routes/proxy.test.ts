// The proxy's routes through app.inject(): authentication and input checks happen before any call
// reaches the cluster. The directory here is an in-process directory app reached through inject too.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import type { AuditEntry } from '../../src/protocol/types.ts'
import { BAD_ESCAPES, BAD_NAMES, queryValue } from '../helpers/bad-names.ts'
import { testProxy, type TestProxy } from '../helpers/proxy-app.ts'

describe('proxy routes', () => {
  let proxy: TestProxy
  let app: FastifyInstance

  before(async () => {
    proxy = await testProxy()
    app = proxy.app
  })
  after(async () => {
    await proxy.close()
  })

  const login = async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/login',
      payload: { user: 'dave', password: 'dave-password' },
    })
    assert.equal(response.statusCode, 200)
    return (response.json() as { token: string }).token
  }

  test('every user route needs a valid bearer token', async () => {
    for (const [method, url] of [
      ['GET', '/v1/files?name=a'],
      ['PUT', '/v1/files?name=a'],
      ['GET', '/v1/list'],
      ['GET', '/v1/stat?name=a'],
      ['DELETE', '/v1/files?name=a'],
      ['GET', '/v1/status'],
    ] as const) {
      const none = await app.inject({ method, url })
      assert.equal(none.statusCode, 401, `${method} ${url}`)
      assert.equal(none.json().error.code, 'DFS_AUTH')
      const forged = await app.inject({ method, url, headers: { authorization: `Bearer ${'f'.repeat(43)}` } })
      assert.equal(forged.statusCode, 401, `${method} ${url} forged`)
    }
  })

  test('a logged-in user is known, and lists an empty namespace', async () => {
    const token = await login()
    const whoami = await app.inject({ url: '/v1/whoami', headers: { authorization: `Bearer ${token}` } })
    assert.deepEqual(whoami.json(), { user: 'dave', admin: true, groups: ['users'], proxy: 1 })
    const list = await app.inject({ url: '/v1/list', headers: { authorization: `Bearer ${token}` } })
    assert.deepEqual(list.json(), { files: [] })
    const missing = await app.inject({
      url: '/v1/files?name=nothing',
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.json().error.code, 'DFS_NOT_FOUND')
  })

  test("the user's address goes with every call to the directory, whose audit log the admin reads here", async () => {
    const token = await login()
    const auth = { authorization: `Bearer ${token}` }
    const rm = await app.inject({ method: 'DELETE', url: '/v1/files?name=never/was', headers: auth })
    assert.equal(rm.json().error.code, 'DFS_NOT_FOUND')
    const audit = await app.inject({ url: '/v1/audit?user=dave&limit=2', headers: auth })
    assert.equal(audit.statusCode, 200, audit.body)
    assert.deepEqual(
      (audit.json() as AuditEntry[]).map((e) => [e.action, e.user, e.node, e.client, e.name, e.outcome]),
      [
        ['login', 'dave', 'proxy 1', '127.0.0.1', undefined, 'ok'],
        ['rm', 'dave', 'proxy 1', '127.0.0.1', 'never/was', 'DFS_NOT_FOUND'],
      ],
    )
    const bad = await app.inject({ url: '/v1/audit?since=yesterday', headers: auth })
    assert.equal(bad.json().error.code, 'DFS_BAD_REQUEST')
    assert.equal((await app.inject({ url: '/v1/audit' })).json().error.code, 'DFS_AUTH')
  })

  test('every bad name is refused with DFS_BAD_NAME', async () => {
    const token = await login()
    const cases = [
      ...BAD_NAMES.map(([why, name]): [string, string] => [why, queryValue(name)]),
      ...BAD_ESCAPES,
    ]
    for (const [why, value] of cases) {
      const response = await app.inject({
        url: `/v1/files?name=${value}`,
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(response.statusCode, 400, why)
      assert.equal(response.json().error.code, 'DFS_BAD_NAME', why)
    }
  })
})
