// The worst a user, a script or an attacker could send, as one table: each case says what it sends,
// to which API, and the status and DFS_* code it must get. The proxy is a real process over TLS in
// a real cluster; the directory and the file server are also driven in-process (app.inject), where
// a test may claim any node identity. After the table, every file written before it reads back byte
// for byte and no temp file is left on any file server.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { readCaCert } from '../../src/tls/ca-files.ts'
import { INVENTORY_PAGE_MAX, type HeldLeaseView } from '../../src/protocol/types.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { BAD_ESCAPES, BAD_NAMES, queryValue } from '../helpers/bad-names.ts'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'
import { as } from '../helpers/node-identity.ts'
import { codeOf, rawExchange } from '../helpers/raw-https.ts'
import { sha256 } from '../helpers/files.ts'
import { eventually } from '../helpers/eventually.ts'

const TIMEOUT_MS = 1000

interface Answer {
  status: number
  code: string | undefined
}

interface Case {
  /** Which API, and what is wrong with what it is sent. */
  what: string
  send: () => Promise<Answer>
  status: number
  code: string
}

describe('bad inputs', () => {
  let cluster: TestCluster
  let agent: Agent
  let directory: TestDirectory
  const tokens: Record<string, string> = {}
  const written = new Map<string, string>()
  let ca: string
  let aliceLease: HeldLeaseView
  let releasedKey: string

  const proxy = async (
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    options: {
      user?: string
      token?: string
      json?: unknown
      body?: string | Buffer
      headers?: Record<string, string>
    } = {},
  ): Promise<Answer & { body: unknown }> => {
    const token = options.token ?? (options.user ? tokens[options.user] : undefined)
    const headers: Record<string, string> = { ...options.headers }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    let body = options.body
    if (options.json !== undefined) {
      body = JSON.stringify(options.json)
      headers['content-type'] ??= 'application/json'
    }
    const response = await request(`${cluster.proxy}${path}`, { method, headers, body, dispatcher: agent })
    const text = await response.body.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // Not JSON: the case fails on its code.
    }
    return { status: response.statusCode, code: errorCode(parsed), body: parsed }
  }

  const injected = async (app: FastifyInstance, options: InjectOptions) => {
    const response = await app.inject(options)
    return { status: response.statusCode, code: errorCode(safeJson(response.body)) }
  }

  const cli = async (args: string[], user = 'bob', input?: string): Promise<Answer> => {
    const env = user === 'tester' ? cluster.as('tester', 'test-password') : cluster.as(user)
    const result = await cluster.run(args, { env, ...(input === undefined ? {} : { input }) })
    const code = /^dfs: (DFS_[A-Z_]+):/.exec(result.stderr)?.[1]
    return { status: result.code ?? -1, code }
  }

  before(async () => {
    // Short timeouts, so the slow cases take a second each.
    cluster = await TestCluster.start({
      fileservers: 2,
      env: { DFS_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS), DFS_BODY_TIMEOUT_MS: String(TIMEOUT_MS) },
    })
    ca = (await readCaCert(cluster.data))!
    agent = new Agent({ connect: { ca } })
    for (const user of ['tester', 'alice', 'bob', 'carol']) {
      const password = user === 'tester' ? 'test-password' : `${user}-password`
      const login = await proxy('POST', '/v1/login', { json: { user, password } })
      assert.equal(login.status, 200)
      tokens[user] = (login.body as { token: string }).token
    }
    const put = async (user: string, name: string, content: string) => {
      const result = await cluster.run(['put', '-', name], { env: cluster.as(user), input: content })
      assert.equal(result.code, 0, result.stderr)
      written.set(name, content)
    }
    await put('alice', 'alice/private.txt', 'alice only\n')
    assert.equal((await cli(['chmod', '600', 'alice/private.txt'], 'alice')).status, 0)
    await put('alice', 'shared/doc.txt', 'everyone edits\n')
    await put('carol', 'carol/locked.txt', 'carol holds the lock\n')
    aliceLease = (
      await proxy('POST', '/v1/locks', { user: 'alice', json: { name: 'shared/doc.txt', wait: 0 } })
    ).body as HeldLeaseView
    const released = (
      await proxy('POST', '/v1/locks', { user: 'carol', json: { name: 'carol/locked.txt', wait: 0 } })
    ).body as HeldLeaseView
    releasedKey = released.key
    await proxy('POST', '/v1/locks/release', {
      user: 'carol',
      json: { name: 'carol/locked.txt', lease: releasedKey },
    })
    const revoked = await proxy('POST', '/v1/login', { json: { user: 'carol', password: 'carol-password' } })
    tokens.revoked = (revoked.body as { token: string }).token
    await proxy('POST', '/v1/logout', { token: tokens.revoked })
    directory = await testDirectory({ now: () => Date.now() })
  })
  after(async () => {
    await directory?.close()
    await agent?.close()
    await cluster?.stop()
  })

  const nameCases = (): Case[] => {
    const cases: Case[] = []
    for (const [why, value] of [
      ...BAD_NAMES.map(([w, n]): [string, string] => [w, queryValue(n)]),
      ...BAD_ESCAPES,
    ]) {
      cases.push({
        what: `proxy GET /v1/files, name ${why}`,
        send: () => proxy('GET', `/v1/files?name=${value}`, { user: 'bob' }),
        status: 400,
        code: 'DFS_BAD_NAME',
      })
      cases.push({
        what: `proxy PUT /v1/files, name ${why}`,
        send: () =>
          proxy('PUT', `/v1/files?name=${value}`, {
            user: 'bob',
            body: 'x',
            headers: { 'content-type': 'application/octet-stream' },
          }),
        status: 400,
        code: 'DFS_BAD_NAME',
      })
    }
    for (const [why, name] of BAD_NAMES) {
      cases.push({
        what: `proxy POST /v1/locks, name ${why}`,
        send: () => proxy('POST', '/v1/locks', { user: 'bob', json: { name, wait: 0 } }),
        status: 400,
        code: 'DFS_BAD_NAME',
      })
    }
    return cases
  }

  const authCases = (): Case[] => {
    const routes: ['GET' | 'PUT' | 'POST' | 'DELETE', string][] = [
      ['GET', '/v1/files?name=shared/doc.txt'],
      ['GET', '/v1/list'],
      ['GET', '/v1/users'],
      ['DELETE', '/v1/files?name=shared/doc.txt'],
    ]
    const cases: Case[] = []
    for (const [method, path] of routes) {
      for (const [why, token] of [
        ['no token', undefined],
        ['a malformed token', 'not a token!'],
        ['a made-up token', 'f'.repeat(43)],
        ['a logged-out token', 'revoked'],
      ] as const) {
        cases.push({
          what: `proxy ${method} ${path.split('?')[0]} with ${why}`,
          send: () =>
            proxy(
              method,
              path,
              token === 'revoked' ? { token: tokens.revoked } : token === undefined ? {} : { token },
            ),
          status: 401,
          code: 'DFS_AUTH',
        })
      }
    }
    cases.push({
      what: 'proxy PUT with no token and an oversized, mistyped body: refused for the token first',
      send: () =>
        proxy('PUT', '/v1/files?name=x', {
          body: 'x'.repeat(100_000),
          headers: { 'content-type': 'text/plain' },
        }),
      status: 401,
      code: 'DFS_AUTH',
    })
    return cases
  }

  const permissionCases = (): Case[] => {
    const bob = { user: 'bob' }
    return [
      {
        what: "bob reads alice's 600 file",
        send: () => proxy('GET', '/v1/files?name=alice/private.txt', bob),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob stats alice's 600 file",
        send: () => proxy('GET', '/v1/stat?name=alice/private.txt', bob),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob lists alice's versions",
        send: () => proxy('GET', '/v1/versions?name=alice/private.txt', bob),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob restores alice's old version",
        send: () => proxy('POST', '/v1/restore', { ...bob, json: { name: 'alice/private.txt', version: 1 } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob removes alice's file",
        send: () => proxy('DELETE', '/v1/files?name=alice/private.txt', bob),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob locks alice's file",
        send: () => proxy('POST', '/v1/locks', { ...bob, json: { name: 'alice/private.txt', wait: 0 } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob chmods alice's file",
        send: () => proxy('POST', '/v1/perms', { ...bob, json: { name: 'alice/private.txt', mode: '666' } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob chowns alice's file to himself",
        send: () => proxy('POST', '/v1/perms', { ...bob, json: { name: 'alice/private.txt', owner: 'bob' } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'alice gives her file to bob (admins only)',
        send: () =>
          proxy('POST', '/v1/perms', { user: 'alice', json: { name: 'alice/private.txt', owner: 'bob' } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob sets a rule over alice's names",
        send: () => proxy('POST', '/v1/perms', { ...bob, json: { name: 'alice/', mode: '777' } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'bob adds a user (admins only)',
        send: () => proxy('POST', '/v1/users', { ...bob, json: { user: 'eve', password: 'eve-password' } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'bob makes a group (admins only)',
        send: () => proxy('POST', '/v1/groups', { ...bob, json: { group: 'cabal', users: ['bob'] } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob changes alice's password",
        send: () => proxy('POST', '/v1/passwd', { ...bob, json: { user: 'alice', password: 'taken-over' } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'bob lists join tokens (admins only)',
        send: () => proxy('GET', '/v1/tokens', bob),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'bob drains a node (admins only)',
        send: () => proxy('POST', '/v1/nodes/drain', { ...bob, json: { id: 1 } }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'bob runs repair (admins only)',
        send: () => proxy('POST', '/v1/repair/run', bob),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: "bob reads the repair plan, which names everyone's files",
        send: () => proxy('GET', '/v1/repair/plan', bob),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'a mode with letters',
        send: () =>
          proxy('POST', '/v1/perms', { user: 'alice', json: { name: 'alice/private.txt', mode: '9z9' } }),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'chown to a group that does not exist',
        send: () =>
          proxy('POST', '/v1/perms', {
            user: 'alice',
            json: { name: 'alice/private.txt', group: 'nogroup' },
          }),
        status: 404,
        code: 'DFS_NOT_FOUND',
      },
    ]
  }

  const leaseCases = (): Case[] => {
    const [token] = aliceLease.key.split('.')
    const guessed = `${token}.${'A'.repeat(43)}`
    const bobPut = (lease: string) => () =>
      proxy('PUT', `/v1/files?name=shared/doc.txt&lease=${encodeURIComponent(lease)}`, {
        user: 'bob',
        body: 'forged\n',
        headers: { 'content-type': 'application/octet-stream' },
      })
    return [
      {
        what: "bob renews alice's lease with her key",
        send: () =>
          proxy('POST', '/v1/locks/renew', {
            user: 'bob',
            json: { name: 'shared/doc.txt', lease: aliceLease.key },
          }),
        status: 409,
        code: 'DFS_CONFLICT',
      },
      {
        what: 'bob renews with a guessed secret',
        send: () =>
          proxy('POST', '/v1/locks/renew', { user: 'bob', json: { name: 'shared/doc.txt', lease: guessed } }),
        status: 409,
        code: 'DFS_CONFLICT',
      },
      {
        what: 'bob renews with the bare fencing number',
        send: () =>
          proxy('POST', '/v1/locks/renew', { user: 'bob', json: { name: 'shared/doc.txt', lease: token } }),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: "bob writes under alice's key",
        send: bobPut(aliceLease.key),
        status: 409,
        code: 'DFS_CONFLICT',
      },
      { what: 'bob writes under a guessed key', send: bobPut(guessed), status: 409, code: 'DFS_CONFLICT' },
      {
        what: 'bob writes while alice holds the lock',
        send: () =>
          proxy('PUT', '/v1/files?name=shared/doc.txt', {
            user: 'bob',
            body: 'x',
            headers: { 'content-type': 'application/octet-stream' },
          }),
        status: 409,
        code: 'DFS_EXISTS',
      },
      {
        what: 'bob removes the locked name',
        send: () => proxy('DELETE', '/v1/files?name=shared/doc.txt', { user: 'bob' }),
        status: 423,
        code: 'DFS_LOCKED',
      },
      {
        what: 'carol replays her released key',
        send: () =>
          proxy('PUT', `/v1/files?name=carol/locked.txt&lease=${encodeURIComponent(releasedKey)}`, {
            user: 'carol',
            body: 'replayed\n',
            headers: { 'content-type': 'application/octet-stream' },
          }),
        status: 409,
        code: 'DFS_CONFLICT',
      },
      {
        what: 'carol renews her released key',
        send: () =>
          proxy('POST', '/v1/locks/renew', {
            user: 'carol',
            json: { name: 'carol/locked.txt', lease: releasedKey },
          }),
        status: 409,
        code: 'DFS_CONFLICT',
      },
    ]
  }

  const bodyCases = (): Case[] => [
    {
      what: 'proxy login with malformed JSON',
      send: () =>
        proxy('POST', '/v1/login', {
          body: '{"user": "bob", ',
          headers: { 'content-type': 'application/json' },
        }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy login missing the password',
      send: () => proxy('POST', '/v1/login', { json: { user: 'bob' } }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy login with an object for a name',
      send: () => proxy('POST', '/v1/login', { json: { user: { name: 'bob' }, password: 'bob-password' } }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy login with a path for a user name',
      send: () => proxy('POST', '/v1/login', { json: { user: '../root', password: 'whatever-it-is' } }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy login with a 2000-character password',
      send: () => proxy('POST', '/v1/login', { json: { user: 'bob', password: 'p'.repeat(2000) } }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy lock with a wait past an hour',
      send: () => proxy('POST', '/v1/locks', { user: 'bob', json: { name: 'x', wait: 1e9 } }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy lock with a string for the TTL',
      send: () => proxy('POST', '/v1/locks', { user: 'bob', json: { name: 'x', ttl: '1h' } }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy restore of version 0',
      send: () => proxy('POST', '/v1/restore', { user: 'bob', json: { name: 'shared/doc.txt', version: 0 } }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy PUT with a negative length',
      send: () =>
        proxy('PUT', '/v1/files?name=x&length=-1', {
          user: 'bob',
          body: 'x',
          headers: { 'content-type': 'application/octet-stream' },
        }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy PUT of a new user with a short password',
      send: () => proxy('POST', '/v1/users', { user: 'tester', json: { user: 'eve', password: 'short' } }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy route that does not exist',
      send: () => proxy('GET', '/v1/secrets', { user: 'bob' }),
      status: 404,
      code: 'DFS_NOT_FOUND',
    },
  ]

  const directoryCases = (): Case[] => {
    const app = () => directory.app
    const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
      injected(app(), { method: 'POST', url, payload, headers })
    const commit = {
      name: 'x',
      expectedVersion: 0,
      sha256: 'a'.repeat(64),
      size: 1,
      primary: 1,
      holders: [1, 2],
      writer: 'nobody',
    }
    return [
      {
        what: 'directory: a call without a cluster certificate',
        send: () =>
          post('/v1/servers/heartbeat', { id: 1, url: 'https://a', freeBytes: 1 }, { 'x-test-node': 'none' }),
        status: 401,
        code: 'DFS_AUTH',
      },
      {
        what: 'directory: a proxy sends a heartbeat',
        send: () => post('/v1/servers/heartbeat', { id: 1, url: 'https://a', freeBytes: 1 }),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'directory: file server 2 heartbeats for file server 1',
        send: () =>
          post('/v1/servers/heartbeat', { id: 1, url: 'https://a', freeBytes: 1 }, as('fileserver', 2)),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'directory: a heartbeat with an http URL',
        send: () =>
          post('/v1/servers/heartbeat', { id: 2, url: 'http://a', freeBytes: 1 }, as('fileserver', 2)),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'directory: a heartbeat with negative free space',
        send: () =>
          post('/v1/servers/heartbeat', { id: 2, url: 'https://a', freeBytes: -5 }, as('fileserver', 2)),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'directory: a placement acting for no user',
        send: () => post('/v1/placements', { name: 'x', size: 1 }),
        status: 401,
        code: 'DFS_AUTH',
      },
      {
        what: 'directory: a placement with a malformed session',
        send: () => post('/v1/placements', { name: 'x', size: 1 }, { 'dfs-session': '!!' }),
        status: 401,
        code: 'DFS_AUTH',
      },
      {
        what: 'directory: a placement with a made-up session',
        send: () => post('/v1/placements', { name: 'x', size: 1 }, { 'dfs-session': 'g'.repeat(43) }),
        status: 401,
        code: 'DFS_AUTH',
      },
      {
        what: 'directory: a file server asks for a placement',
        send: () => post('/v1/placements', { name: 'x', size: 1 }, as('fileserver', 1)),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'directory: a proxy commits a made-up hash',
        send: () => post('/v1/commits', commit),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'directory: a file server commits for another primary',
        send: () => post('/v1/commits', commit, as('fileserver', 2)),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'directory: a commit by a writer who is no user',
        send: () => post('/v1/commits', commit, as('fileserver', 1)),
        status: 401,
        code: 'DFS_AUTH',
      },
      {
        what: 'directory: a commit with no holders',
        send: () => post('/v1/commits', { ...commit, holders: [] }, as('fileserver', 1)),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'directory: a commit with a sha256 that is not hex',
        send: () => post('/v1/commits', { ...commit, sha256: 'z'.repeat(64) }, as('fileserver', 1)),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'directory: a commit with a lease that is not a key',
        send: () => post('/v1/commits', { ...commit, lease: '12' }, as('fileserver', 1)),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'directory: an inventory with a bad hash',
        send: () => post('/v1/servers/1/inventory', { blobs: ['nothex'] }, as('fileserver', 1)),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'directory: an inventory page with a bad hash',
        send: () => post('/v1/servers/1/inventory/pages', { blobs: ['nothex'] }, as('fileserver', 1)),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'directory: an inventory page out of hash order',
        send: () =>
          post(
            '/v1/servers/1/inventory/pages',
            { blobs: ['b'.repeat(64), 'a'.repeat(64)] },
            as('fileserver', 1),
          ),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'directory: an inventory page of more blobs than a page may carry',
        send: () =>
          post(
            '/v1/servers/1/inventory/pages',
            {
              blobs: Array.from({ length: INVENTORY_PAGE_MAX + 1 }, (_, i) =>
                i.toString(16).padStart(64, '0'),
              ),
            },
            as('fileserver', 1),
          ),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: 'directory: an inventory page larger than a page of the most blobs',
        send: () =>
          post(
            '/v1/servers/1/inventory/pages',
            {
              blobs: Array.from({ length: 1.5 * INVENTORY_PAGE_MAX }, (_, i) =>
                i.toString(16).padStart(64, '0'),
              ),
            },
            as('fileserver', 1),
          ),
        status: 413,
        code: 'DFS_TOO_LARGE',
      },
      {
        what: "directory: a file server sends another's inventory page",
        send: () => post('/v1/servers/1/inventory/pages', { blobs: [] }, as('fileserver', 2)),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'directory: an inventory of changes with a bad hash',
        send: () =>
          post(
            '/v1/servers/1/inventory/changes',
            { base: 1, added: ['nothex'], removed: [], check: [], asOf: 0 },
            as('fileserver', 1),
          ),
        status: 400,
        code: 'DFS_BAD_REQUEST',
      },
      {
        what: "directory: a file server sends another's inventory of changes",
        send: () =>
          post(
            '/v1/servers/1/inventory/changes',
            { base: 1, added: [], removed: [], check: [], asOf: 0 },
            as('fileserver', 2),
          ),
        status: 403,
        code: 'DFS_FORBIDDEN',
      },
      {
        what: 'directory: a join with a made-up token',
        send: () =>
          post(
            '/v1/join',
            { token: 'dfs1.x.y.z', role: 'proxy', id: 3, csr: 'x' },
            { 'x-test-node': 'none' },
          ),
        status: 401,
        code: 'DFS_AUTH',
      },
    ]
  }

  const cliCases = (): Case[] => [
    {
      what: 'CLI: get with a parent name',
      send: () => cli(['get', '../etc/passwd', '-']),
      status: 1,
      code: 'DFS_BAD_NAME',
    },
    {
      what: "CLI: bob gets alice's private file",
      send: () => cli(['get', 'alice/private.txt', '-']),
      status: 1,
      code: 'DFS_FORBIDDEN',
    },
    {
      what: "CLI: bob writes alice's private file",
      send: () => cli(['write', 'alice/private.txt'], 'bob', 'mine\n'),
      status: 1,
      code: 'DFS_FORBIDDEN',
    },
    {
      what: 'CLI: chmod with a bad mode',
      send: () => cli(['chmod', 'u+x+', 'shared/doc.txt'], 'alice'),
      status: 1,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'CLI: chown with two colons',
      send: () => cli(['chown', 'a:b:c', 'shared/doc.txt']),
      status: 2,
      code: 'DFS_USAGE',
    },
    {
      what: 'CLI: chmod of a prefix without -R',
      send: () => cli(['chmod', '600', 'shared/']),
      status: 2,
      code: 'DFS_USAGE',
    },
    {
      what: 'CLI: a write under a lease key from the environment that is not one',
      send: () =>
        cliWithEnv(['write', 'shared/doc.txt', '--wait', '0s'], {
          DFS_LOCK_NAME: 'shared/doc.txt',
          DFS_LOCK_TOKEN: '5',
        }),
      status: 1,
      code: 'DFS_LOCKED',
    },
  ]

  const cliWithEnv = async (args: string[], extra: NodeJS.ProcessEnv): Promise<Answer> => {
    const result = await cluster.run(args, { env: { ...cluster.as('bob'), ...extra }, input: 'x\n' })
    return { status: result.code ?? -1, code: /^dfs: (DFS_[A-Z_]+):/.exec(result.stderr)?.[1] }
  }

  const throttleCases = (): Case[] => {
    const wrong = () => proxy('POST', '/v1/login', { json: { user: 'alice', password: 'not-her-password' } })
    return [
      { what: 'a wrong password (1)', send: wrong, status: 401, code: 'DFS_AUTH' },
      { what: 'a wrong password (2)', send: wrong, status: 401, code: 'DFS_AUTH' },
      { what: 'a wrong password (3)', send: wrong, status: 401, code: 'DFS_AUTH' },
      { what: 'a wrong password after three: throttled', send: wrong, status: 429, code: 'DFS_RATE_LIMITED' },
      {
        what: 'the right password while locked out',
        send: () => proxy('POST', '/v1/login', { json: { user: 'alice', password: 'alice-password' } }),
        status: 429,
        code: 'DFS_RATE_LIMITED',
      },
    ]
  }

  const raw = async (url: string, talk: Parameters<typeof rawExchange>[2]): Promise<Answer> => {
    const answer = await rawExchange(url, ca, talk)
    return { status: answer.status ?? 0, code: codeOf(answer) }
  }
  const octet = { 'content-type': 'application/octet-stream' }
  const limitCases = (): Case[] => [
    {
      what: 'proxy: a 2 MiB JSON body',
      send: () => proxy('POST', '/v1/locks', { user: 'bob', json: { name: 'x'.repeat(2 * 1024 * 1024) } }),
      status: 413,
      code: 'DFS_TOO_LARGE',
    },
    {
      what: 'proxy: JSON nested 1000 deep',
      send: () =>
        proxy('POST', '/v1/locks', {
          user: 'bob',
          body: `{"name":${'['.repeat(1000)}${']'.repeat(1000)}}`,
          headers: { 'content-type': 'application/json' },
        }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy: a JSON route sent text/plain',
      send: () =>
        proxy('POST', '/v1/locks', {
          user: 'bob',
          body: 'name=x',
          headers: { 'content-type': 'text/plain' },
        }),
      status: 415,
      code: 'DFS_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      what: 'proxy: file bytes sent as JSON',
      send: () => proxy('PUT', '/v1/files?name=typed.txt', { user: 'bob', json: { bytes: 'x' } }),
      status: 415,
      code: 'DFS_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      what: 'proxy: a body shorter than its declared ?length',
      send: () =>
        proxy('PUT', '/v1/files?name=short.bin&length=100', {
          user: 'bob',
          body: 'ten bytes!',
          headers: octet,
        }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy: a body longer than its declared ?length',
      send: () =>
        proxy('PUT', '/v1/files?name=long.bin&length=3', { user: 'bob', body: 'ten bytes!', headers: octet }),
      status: 400,
      code: 'DFS_BAD_REQUEST',
    },
    {
      what: 'proxy: 20 KiB of headers',
      send: () =>
        raw(cluster.proxy, (socket) => {
          socket.write(`GET /health HTTP/1.1\r\nhost: dfs\r\nx-padding: ${'a'.repeat(20 * 1024)}\r\n\r\n`)
        }),
      status: 431,
      code: 'DFS_HEADERS_TOO_LARGE',
    },
    {
      what: 'proxy: headers that never end',
      send: () =>
        raw(cluster.proxy, (socket) => {
          socket.write('GET /v1/list HTTP/1.1\r\nhost: dfs\r\n')
        }),
      status: 408,
      code: 'DFS_TIMEOUT',
    },
    {
      what: 'directory: headers that never end',
      send: () =>
        raw(cluster.directory.url, (socket) => {
          socket.write('GET /health HTTP/1.1\r\nhost: dfs\r\n')
        }),
      status: 408,
      code: 'DFS_TIMEOUT',
    },
    {
      what: 'proxy: an upload that stops sending (its temp files must go)',
      send: () =>
        raw(cluster.proxy, (socket) => {
          socket.write(
            [
              'PUT /v1/files?name=stalled.bin HTTP/1.1',
              'host: dfs',
              `authorization: Bearer ${tokens.bob}`,
              'content-type: application/octet-stream',
              'content-length: 1048576',
              '',
              '',
            ].join('\r\n'),
          )
          socket.write(Buffer.alloc(64 * 1024, 1))
        }),
      status: 408,
      code: 'DFS_TIMEOUT',
    },
  ]

  test('every case gets its status and code', async () => {
    const cases = [
      ...nameCases(),
      ...authCases(),
      ...permissionCases(),
      ...leaseCases(),
      ...bodyCases(),
      ...directoryCases(),
      ...cliCases(),
      ...limitCases(),
      ...throttleCases(),
    ]
    assert.ok(cases.length >= 100, `${cases.length} cases`)
    const failures: string[] = []
    for (const c of cases) {
      const answer = await c.send()
      if (answer.status !== c.status || answer.code !== c.code)
        failures.push(`${c.what}: got ${answer.status} ${answer.code}, want ${c.status} ${c.code}`)
    }
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed`)
  })

  test('after the table, every file written before it reads back byte for byte, and no temp file is left', async () => {
    for (const [name, content] of written) {
      const owner = name.split('/')[0] === 'carol' ? 'carol' : 'alice'
      const result = await cluster.run(['get', name, '-'], { env: cluster.as(owner) })
      assert.equal(result.code, 0, `${name}: ${result.stderr}`)
      assert.equal(sha256(result.stdout), sha256(content), name)
    }
    for (const id of [1, 2]) {
      const tmp = join(cluster.data, `fileserver-${id}`, 'tmp')
      await eventually(`no temp file on file server ${id}`, async () => (await readdir(tmp)).length === 0)
    }
    for (const name of ['stalled.bin', 'short.bin', 'long.bin', 'typed.txt'])
      assert.match((await cluster.run(['stat', name])).stderr, /DFS_NOT_FOUND/, `${name} was not stored`)
  })
})

function errorCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined
  const error = (body as { error: unknown }).error
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
