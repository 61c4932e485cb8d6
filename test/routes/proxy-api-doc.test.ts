// The proxy's HTTP API is a public interface: README.md's table lists every route the proxy serves,
// and nothing it does not serve. A route added without its line there (or a line left after its
// route went) fails here.

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { testProxy, type TestProxy } from '../helpers/proxy-app.ts'

let proxy: TestProxy
before(async () => {
  proxy = await testProxy()
})
after(async () => {
  await proxy.close()
})

/** `METHOD /path` for every route, from Fastify's route tree (children print relative to parents). */
function served(tree: string): Set<string> {
  const routes = new Set<string>()
  const parents: string[] = []
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1]!.length / 4
    const path = (parents[depth - 1] ?? '') + match[2]!
    parents[depth] = path
    for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD'))
      routes.add(`${method} ${path}`)
  }
  return routes
}

test("README's API table names exactly the proxy's routes", async () => {
  const readme = await readFile(resolve(import.meta.dirname, '../../README.md'), 'utf8')
  const section = readme.slice(readme.indexOf("## The proxy's HTTP API"))
  const documented = new Set(
    [
      ...section
        .slice(0, section.indexOf('\n## ', 5))
        .matchAll(/^\|\s*(GET|PUT|POST|DELETE)\s*\|\s*`([^`]+)`\s*\|/gm),
    ].map((m) => `${m[1]} ${m[2]}`),
  )
  const routes = served(proxy.app.printRoutes({ commonPrefix: false }))
  assert.ok(routes.size > 30, `the route tree was read (${routes.size} routes)`)
  assert.deepEqual([...routes].filter((r) => !documented.has(r)).sort(), [], 'served but not documented')
  assert.deepEqual([...documented].filter((r) => !routes.has(r)).sort(), [], 'documented but not served')
})

test('the documented shapes: a login token as bearer on /v1/files, errors as {error: {code, message}}, 401 without one', async () => {
  const login = await proxy.app.inject({
    method: 'POST',
    url: '/v1/login',
    payload: { user: 'apiuser', password: 'a password' },
  })
  assert.equal(login.statusCode, 200, login.body)
  const { token } = login.json<{ token: string }>()
  const auth = { authorization: `Bearer ${token}` }
  const put = await proxy.app.inject({
    method: 'PUT',
    url: '/v1/files?name=api/doc.txt',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    payload: Buffer.from('hello'),
  })
  // No file servers in a route test: the directory refuses the placement, in the documented shape.
  assert.equal(put.statusCode, 503, put.body)
  assert.equal(put.json<{ error: { code: string } }>().error.code, 'DFS_UNAVAILABLE')
  const missing = await proxy.app.inject({ method: 'GET', url: '/v1/files?name=api/none.txt', headers: auth })
  assert.equal(missing.statusCode, 404)
  assert.deepEqual(Object.keys(missing.json<{ error: object }>().error).sort(), ['code', 'message'])
  const anonymous = await proxy.app.inject({ method: 'GET', url: '/v1/files?name=api/none.txt' })
  assert.equal(anonymous.statusCode, 401)
})
