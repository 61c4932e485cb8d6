// Bounded requests on every role, through app.inject(): JSON bodies too large or too deep, bodies of
// the wrong kind, bodies that go quiet or are not the length they declared, each answered with its
// status and DFS_* code; and on the proxy, a caller without a session hears only that.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { makeAgent } from '../../src/client/agent.ts'
import { DirectoryClient } from '../../src/client/directory-client.ts'
import { buildFileServerApp } from '../../src/roles/fileserver/app.ts'
import { FileServerService } from '../../src/roles/fileserver/service.ts'
import { systemClock } from '../../src/server/clock.ts'
import { DiskBlobStore } from '../../src/storage/disk-blob-store.ts'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'
import { as, identifyByHeader } from '../helpers/node-identity.ts'
import { testProxy, type TestProxy } from '../helpers/proxy-app.ts'

const BODY_TIMEOUT_MS = 300
const MiB = 1024 * 1024

function refused(response: LightMyRequestResponse, status: number, code: string, what: string): string {
  assert.equal(response.statusCode, status, `${what}: ${response.body}`)
  const { error } = response.json() as { error: { code: string; message: string } }
  assert.equal(error.code, code, what)
  return error.message
}

/** A JSON text nested `depth` levels deep. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

describe('bounded requests', () => {
  let directory: TestDirectory
  let proxy: TestProxy
  let fileserver: FastifyInstance
  let blobs: string
  const agent = makeAgent({ ca: '' })

  before(async () => {
    directory = await testDirectory(systemClock)
    proxy = await testProxy({ bodyTimeoutMs: BODY_TIMEOUT_MS })
    blobs = await mkdtemp(join(tmpdir(), 'dfs-fs-'))
    const store = new DiskBlobStore(blobs)
    await store.open()
    const service = new FileServerService(
      7,
      store,
      new DirectoryClient('https://127.0.0.1:9', agent),
      agent,
      { warn: () => undefined },
      join(blobs, 'inventory'),
    )
    fileserver = buildFileServerApp(service, {
      identify: identifyByHeader({ role: 'fileserver', id: 1 }),
      limits: { bodyTimeoutMs: BODY_TIMEOUT_MS },
    })
    await fileserver.ready()
  })
  after(async () => {
    await fileserver.close()
    await proxy.close()
    await directory.close()
    await agent.close()
    await rm(blobs, { recursive: true, force: true })
  })

  const temps = () => readdir(join(blobs, 'tmp'))
  const json = { 'content-type': 'application/json' }
  const octet = { 'content-type': 'application/octet-stream' }

  test('a JSON body over 1 MiB is refused with 413 DFS_TOO_LARGE on every role, declared or not', async () => {
    const big = JSON.stringify({ user: 'x'.repeat(2 * MiB), password: 'p' })
    const calls: [string, FastifyInstance, string, Record<string, string>][] = [
      ['proxy', proxy.app, '/v1/login', {}],
      ['directory', directory.app, '/v1/placements', {}],
      ['file server', fileserver, '/v1/copy', as('directory', 1)],
    ]
    for (const [role, app, url, headers] of calls) {
      const declared = await app.inject({
        method: 'POST',
        url,
        headers: { ...json, ...headers },
        payload: big,
      })
      refused(declared, 413, 'DFS_TOO_LARGE', `${role}, with content-length`)
      const chunked = await app.inject({
        method: 'POST',
        url,
        headers: { ...json, ...headers },
        payload: Readable.from([Buffer.from(big)]),
      })
      refused(chunked, 413, 'DFS_TOO_LARGE', `${role}, chunked`)
    }
  })

  test('JSON nested deeper than 32 levels is refused with 400 DFS_BAD_REQUEST; brackets in strings do not count', async () => {
    for (const [role, app, url] of [
      ['proxy', proxy.app, '/v1/login'],
      ['directory', directory.app, '/v1/placements'],
    ] as const) {
      const deep = await app.inject({ method: 'POST', url, headers: json, payload: nested(10_000) })
      assert.match(refused(deep, 400, 'DFS_BAD_REQUEST', role), /nests deeper than 32 levels/)
      const edge = await app.inject({ method: 'POST', url, headers: json, payload: nested(33) })
      refused(edge, 400, 'DFS_BAD_REQUEST', `${role}, 33 levels`)
    }
    // 32 levels parse (and fail the schema); a password full of brackets is just a password.
    const deepest = await proxy.app.inject({
      method: 'POST',
      url: '/v1/login',
      headers: json,
      payload: nested(32),
    })
    assert.doesNotMatch(refused(deepest, 400, 'DFS_BAD_REQUEST', '32 levels'), /nests deeper/)
    const login = await proxy.app.inject({
      method: 'POST',
      url: '/v1/login',
      headers: json,
      payload: { user: 'brackets', password: `\\"${'['.repeat(100)}` },
    })
    assert.equal(login.statusCode, 200, login.body)
  })

  test('a body of the wrong kind is refused with 415 DFS_UNSUPPORTED_MEDIA_TYPE before it is read', async () => {
    const token = await proxy.login()
    const bearer = { authorization: `Bearer ${token}` }
    const cases: [string, FastifyInstance, string, string, Record<string, string>][] = [
      ['text to a JSON route', proxy.app, 'POST', '/v1/login', { 'content-type': 'text/plain' }],
      ['bytes to a JSON route', directory.app, 'POST', '/v1/placements', octet],
      ['no content-type', proxy.app, 'POST', '/v1/locks', bearer],
      ['JSON as file bytes', proxy.app, 'PUT', '/v1/files?name=a.txt', { ...json, ...bearer }],
      ['JSON as a replica', fileserver, 'PUT', '/v1/replica', json],
      [
        'form as a primary write',
        fileserver,
        'PUT',
        '/v1/blobs?name=a&expectedVersion=0&writer=a',
        {
          'content-type': 'application/x-www-form-urlencoded',
          ...as('proxy', 1),
        },
      ],
    ]
    for (const [why, app, method, url, headers] of cases) {
      const response = await app.inject({ method: method as 'POST', url, headers, payload: '{"name":"a"}' })
      const message = refused(response, 415, 'DFS_UNSUPPORTED_MEDIA_TYPE', why)
      assert.match(message, /takes application\/(json|octet-stream)/, why)
    }
    assert.deepEqual(await temps(), [])
    // A media type's parameters are no matter.
    const charset = await proxy.app.inject({
      method: 'POST',
      url: '/v1/login',
      headers: { 'content-type': 'Application/JSON; charset=utf-8' },
      payload: JSON.stringify({ user: 'charset', password: 'a password' }),
    })
    assert.equal(charset.statusCode, 200, charset.body)
  })

  test('the proxy answers a caller without a session with 401 DFS_AUTH, whatever its body', async () => {
    const token = await proxy.login()
    const bad: [string, string, string, Record<string, string>, string | Buffer][] = [
      ['oversized', 'POST', '/v1/locks', json, JSON.stringify({ name: 'x'.repeat(2 * MiB) })],
      ['malformed', 'POST', '/v1/locks', json, '{"name": '],
      ['too deep', 'POST', '/v1/tokens', json, nested(1000)],
      ['of the wrong kind', 'PUT', '/v1/files?name=a.txt', { 'content-type': 'text/plain' }, 'hi'],
      ['failing its schema', 'POST', '/v1/nodes/drain', json, '{"id":"two"}'],
    ]
    for (const [why, method, url, headers, payload] of bad) {
      for (const authorization of [undefined, `Bearer ${'f'.repeat(43)}`]) {
        const response = await proxy.app.inject({
          method: method as 'POST',
          url,
          headers: { ...headers, ...(authorization ? { authorization } : {}) },
          payload,
        })
        refused(response, 401, 'DFS_AUTH', `${why}, ${authorization ? 'forged' : 'no'} token`)
      }
      // With a session, the same body is refused for what it is.
      const response = await proxy.app.inject({
        method: method as 'POST',
        url,
        headers: { ...headers, authorization: `Bearer ${token}` },
        payload,
      })
      assert.ok([400, 413, 415].includes(response.statusCode), `${why}: ${response.statusCode}`)
    }
  })

  test(
    'a body that goes quiet is cut with 408 DFS_TIMEOUT, leaving no temp file',
    { timeout: 10_000 },
    async () => {
      const body = new PassThrough()
      body.write(Buffer.alloc(1000, 1))
      const started = Date.now()
      const response = await fileserver.inject({
        method: 'PUT',
        url: '/v1/replica?length=100000',
        headers: { ...octet, 'transfer-encoding': 'chunked' },
        payload: body,
      })
      assert.match(refused(response, 408, 'DFS_TIMEOUT', 'replica'), /sent nothing for 300 ms/)
      assert.ok(Date.now() - started >= BODY_TIMEOUT_MS, 'not before the timeout')
      assert.deepEqual(await temps(), [])
      body.destroy()

      // A JSON body too: the proxy's login waits for the rest of what content-length promised.
      const login = new PassThrough()
      login.write('{"user":')
      const quiet = await proxy.app.inject({
        method: 'POST',
        url: '/v1/login',
        headers: { ...json, 'content-length': '100' },
        payload: login,
      })
      refused(quiet, 408, 'DFS_TIMEOUT', 'login')
      login.destroy()
    },
  )

  test('a slow body that keeps moving is not cut, however long it takes', { timeout: 10_000 }, async () => {
    const chunks = 12
    const chunk = Buffer.alloc(1000, 2)
    // Pacing the sender is the point here: a chunk every third of the timeout, for four timeouts.
    const slow = Readable.from(
      (async function* () {
        for (let i = 0; i < chunks; i++) {
          await new Promise((resolve) => setTimeout(resolve, BODY_TIMEOUT_MS / 3))
          yield chunk
        }
      })(),
    )
    const started = Date.now()
    const response = await fileserver.inject({
      method: 'PUT',
      url: '/v1/replica',
      headers: { ...octet, 'transfer-encoding': 'chunked' },
      payload: slow,
    })
    assert.equal(response.statusCode, 200, response.body)
    assert.equal((response.json() as { size: number }).size, chunks * chunk.length)
    assert.ok(Date.now() - started > 3 * BODY_TIMEOUT_MS, 'took longer than the timeout, in total')
  })

  test('a replica body longer or shorter than declared is refused with 400 naming the mismatch', async () => {
    const chunked = { ...octet, 'transfer-encoding': 'chunked' }
    const long = await fileserver.inject({
      method: 'PUT',
      url: '/v1/replica?length=5',
      headers: chunked,
      payload: Readable.from([Buffer.from('ten bytes!')]),
    })
    assert.match(
      refused(long, 400, 'DFS_BAD_REQUEST', 'long'),
      /the body is longer than its declared length of 5 bytes/,
    )
    const short = await fileserver.inject({
      method: 'PUT',
      url: '/v1/replica?length=100',
      headers: chunked,
      payload: Readable.from([Buffer.from('ten bytes!')]),
    })
    assert.match(
      refused(short, 400, 'DFS_BAD_REQUEST', 'short'),
      /the body ended after 10 of its declared 100 bytes/,
    )
    const disagreeing = await fileserver.inject({
      method: 'PUT',
      url: '/v1/replica?length=5',
      headers: octet,
      payload: Buffer.from('ten bytes!'),
    })
    assert.match(refused(disagreeing, 400, 'DFS_BAD_REQUEST', 'disagreeing'), /length=5 does not match/)
    assert.deepEqual(await temps(), [])
  })
})
