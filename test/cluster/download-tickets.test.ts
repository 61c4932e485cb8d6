// The dashboard's downloads by one-use link (POST /v1/download-tickets, then GET /v1/download), over
// real TLS against a real cluster: the link gives the file's bytes once, as an attachment named for
// it; it is refused a second time, after it expires, for another name, after its session ended, and
// is never given for a file its user may not read. Neither the link's ticket nor the bearer token is
// ever in a log line. Tickets live 3 s here (DFS_DOWNLOAD_TICKET_MS) so expiry can be waited for.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { readCaCert } from '../../src/tls/ca.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { sha256 } from '../helpers/files.ts'

const TTL_MS = 3000

describe('download tickets', () => {
  let cluster: TestCluster
  let agent: Agent
  const body = randomBytes(2 * 1024 * 1024 + 3)
  const NAME = 'tickets/a report ü.bin'
  const tokens: string[] = []
  const tickets: string[] = []

  const login = async (user: string) => {
    const response = await request(`${cluster.proxy}/v1/login`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, password: `${user}-password` }),
    })
    assert.equal(response.statusCode, 200)
    const { token } = (await response.body.json()) as { token: string }
    tokens.push(token)
    return token
  }
  const ticketFor = async (token: string, name: string) => {
    const response = await request(`${cluster.proxy}/v1/download-tickets`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name }),
    })
    const answer = (await response.body.json()) as {
      url?: string
      expires?: number
      error?: { code: string; message: string }
    }
    if (answer.url) tickets.push(new URL(answer.url, cluster.proxy).searchParams.get('ticket')!)
    return { status: response.statusCode, ...answer }
  }
  /** GET a link; the body's bytes, or the error's code. */
  const follow = async (url: string) => {
    const response = await request(new URL(url, cluster.proxy), { dispatcher: agent })
    const bytes = Buffer.from(await response.body.arrayBuffer())
    const code =
      response.statusCode >= 400
        ? (JSON.parse(bytes.toString()) as { error: { code: string } }).error.code
        : undefined
    return { status: response.statusCode, headers: response.headers, bytes, code }
  }

  before(async () => {
    cluster = await TestCluster.start({
      fileservers: 2,
      logLevel: 'debug',
      env: { DFS_DOWNLOAD_TICKET_MS: String(TTL_MS) },
    })
    agent = new Agent({ connect: { ca: (await readCaCert(cluster.data))! } })
    for (const user of ['alice', 'bob']) {
      const registered = await cluster.run(['status'], { env: cluster.as(user) })
      assert.equal(registered.code, 0, registered.stderr)
    }
    const put = await cluster.run(['put', '-', NAME], { input: body, env: cluster.as('alice') })
    assert.equal(put.code, 0, put.stderr)
    const chmod = await cluster.run(['chmod', '600', NAME], { env: cluster.as('alice') })
    assert.equal(chmod.code, 0, chmod.stderr)
  })
  after(async () => {
    await agent?.close()
    await cluster?.stop()
  })

  test('a link gives the bytes once, as an attachment named for the file; the second use is refused', async () => {
    const alice = await login('alice')
    const issued = await ticketFor(alice, NAME)
    assert.equal(issued.status, 200, issued.error?.message)
    const url = new URL(issued.url!, cluster.proxy)
    assert.equal(url.pathname, '/v1/download')
    assert.deepEqual([...url.searchParams.keys()], ['name', 'ticket'])
    assert.equal(url.searchParams.get('name'), NAME)
    assert.match(url.searchParams.get('ticket')!, /^[A-Za-z0-9_-]{43}$/, '32 random bytes')
    assert.ok(!issued.url!.includes(alice), 'the token is not in the link')
    assert.ok(issued.expires! <= Date.now() + TTL_MS + 1000)

    const first = await follow(issued.url!)
    assert.equal(first.status, 200)
    assert.equal(sha256(first.bytes), sha256(body))
    assert.equal(
      first.headers['content-disposition'],
      `attachment; filename="a report _.bin"; filename*=UTF-8''a%20report%20%C3%BC.bin`,
    )
    assert.equal(first.headers['cache-control'], 'no-store')

    const second = await follow(issued.url!)
    assert.deepEqual([second.status, second.code], [401, 'DFS_AUTH'])
  })

  test('a HEAD of a link answers its headers without spending it: the download follows', async () => {
    const issued = await ticketFor(await login('alice'), NAME)
    assert.equal(issued.status, 200)
    const head = await request(new URL(issued.url!, cluster.proxy), { dispatcher: agent, method: 'HEAD' })
    assert.equal(head.statusCode, 200)
    assert.equal(head.headers['content-length'], String(body.length))
    assert.match(String(head.headers['content-disposition']), /^attachment; /)
    assert.equal((await head.body.arrayBuffer()).byteLength, 0)
    const download = await follow(issued.url!)
    assert.equal(download.status, 200)
    assert.equal(sha256(download.bytes), sha256(body))
    const again = await follow(issued.url!)
    assert.deepEqual([again.status, again.code], [401, 'DFS_AUTH'], 'the GET spent it')
  })

  test('a link is refused after it expires', async () => {
    const issued = await ticketFor(await login('alice'), NAME)
    assert.equal(issued.status, 200)
    await sleep(Math.max(0, issued.expires! - Date.now()) + 200)
    const late = await follow(issued.url!)
    assert.deepEqual([late.status, late.code], [401, 'DFS_AUTH'])
  })

  test('a link is only for its name: another name is refused, and the link is spent by trying', async () => {
    const alice = await login('alice')
    const other = await cluster.run(['put', '-', 'tickets/other.txt'], {
      input: 'other',
      env: cluster.as('alice'),
    })
    assert.equal(other.code, 0, other.stderr)
    const issued = await ticketFor(alice, 'tickets/other.txt')
    const swapped = new URL(issued.url!, cluster.proxy)
    swapped.searchParams.set('name', NAME)
    const refused = await follow(swapped.toString())
    assert.deepEqual([refused.status, refused.code], [403, 'DFS_FORBIDDEN'])
    const spent = await follow(issued.url!)
    assert.deepEqual([spent.status, spent.code], [401, 'DFS_AUTH'])
  })

  test('no link for a file the user may not read, or one that is not there; none after logout; none without a session', async () => {
    const bob = await login('bob')
    const forbidden = await ticketFor(bob, NAME)
    assert.deepEqual([forbidden.status, forbidden.error?.code], [403, 'DFS_FORBIDDEN'])
    const missing = await ticketFor(bob, 'tickets/nothing-here')
    assert.deepEqual([missing.status, missing.error?.code], [404, 'DFS_NOT_FOUND'])
    const anonymous = await ticketFor('not-a-token-at-all-0123456789', NAME)
    assert.deepEqual([anonymous.status, anonymous.error?.code], [401, 'DFS_AUTH'])

    const alice = await login('alice')
    const issued = await ticketFor(alice, NAME)
    const logout = await request(`${cluster.proxy}/v1/logout`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice}` },
      body: '{}',
    })
    assert.equal(logout.statusCode, 200)
    await logout.body.dump()
    const ended = await follow(issued.url!)
    assert.deepEqual([ended.status, ended.code], [401, 'DFS_AUTH'])
    // A ticket that is not one (a bad shape) is a bad request, said in one line.
    const bad = await follow(`/v1/download?name=${encodeURIComponent(NAME)}&ticket=short`)
    assert.deepEqual([bad.status, bad.code], [400, 'DFS_BAD_REQUEST'])
  })

  test('neither a ticket nor a token is in any log line, though every request is logged', async () => {
    const log = await readFile(join(cluster.root, 'proxy-1.log'), 'utf8')
    assert.match(log, /"path":"\/v1\/download"/)
    assert.ok(tickets.length >= 4 && tokens.length >= 4)
    for (const secret of [...tickets, ...tokens]) assert.ok(!log.includes(secret), 'a secret is in the log')
  })
})
