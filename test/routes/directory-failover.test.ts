// Failing over between directories, over real mutual TLS on loopback. One directory app (one
// database) stands behind several HTTPS fronts, each playing a directory of the same cluster: one
// that answers, one that is shutting down (503 before reading anything), one whose answers to some
// calls are lost after the directory acted on them; and a port nobody listens on.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { NodeAgent } from '../../src/client/agent.ts'
import { makeAgent } from '../../src/client/agent.ts'
import { DirectoryClient } from '../../src/client/directory-client.ts'
import { DfsError } from '../../src/protocol/errors.ts'
import type { ChangeEvent } from '../../src/protocol/types.ts'
import { buildFileServerApp } from '../../src/roles/fileserver/app.ts'
import { FileServerService } from '../../src/roles/fileserver/service.ts'
import { BlobCache } from '../../src/roles/proxy/blob-cache.ts'
import { ChangeFeed } from '../../src/roles/proxy/change-feed.ts'
import { ProxyService } from '../../src/roles/proxy/service.ts'
import { listen } from '../../src/server/app.ts'
import { systemClock, systemRandom } from '../../src/server/clock.ts'
import { DiskBlobStore } from '../../src/storage/disk-blob-store.ts'
import { issueNodeCert, type CaPair } from '../../src/tls/ca.ts'
import { identityOf, type NodeIdentity } from '../../src/tls/identity.ts'
import { deadUrl } from '../helpers/dead-url.ts'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'
import { eventually } from '../helpers/eventually.ts'
import { sha256 } from '../helpers/files.ts'

/** What a front does with a request: hand it to the directory, turn it away, or lose the answer. */
type Behaviour = 'route' | 'drain' | 'lose'

interface Front {
  url: string
  /** `METHOD /path` of every request it received. */
  seen: string[]
  close(): Promise<void>
}

/** Fastify's answer while it closes: before any hook or handler runs. */
const CLOSING = '{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}'

async function front(
  app: FastifyInstance,
  ca: CaPair,
  behave: (request: IncomingMessage) => Behaviour = () => 'route',
): Promise<Front> {
  const own = issueNodeCert(ca, { role: 'directory', id: 0 }, ['127.0.0.1'])
  const seen: string[] = []
  const server: Server = createServer(
    { key: own.key, cert: own.cert, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    (request: IncomingMessage, response: ServerResponse) => {
      seen.push(`${request.method} ${request.url?.split('?')[0]}`)
      // The test directory takes the caller's identity from a header; here it is the real certificate's.
      const peer = identityOf((request.socket as TLSSocket).getPeerCertificate())
      request.headers['x-test-node'] = peer ? `${peer.role}:${peer.id}` : 'none'
      const behaviour = behave(request)
      if (behaviour === 'drain') {
        response.writeHead(503, { 'content-type': 'application/json' })
        response.end(CLOSING)
        return
      }
      if (behaviour === 'lose') {
        // The directory acts on the request; its answer never arrives: the connection drops instead.
        response.writeHead = (() => {
          request.socket.destroy()
          return response
        }) as typeof response.writeHead
        response.end = (() => response) as typeof response.end
      }
      app.routing(request, response)
    },
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `https://127.0.0.1:${port}`,
    seen,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

function agentFor(ca: CaPair, identity: NodeIdentity): NodeAgent {
  const own = issueNodeCert(ca, identity, ['127.0.0.1'])
  return makeAgent({ ca: ca.cert, cert: own.cert, key: own.key })
}

/** A log that keeps its lines, to see what failover said. */
function keptLog(): { lines: string[]; warn(obj: object, message: string): void } {
  const lines: string[] = []
  return { lines, warn: (_obj, message) => lines.push(message) }
}

function assertUnavailableWithoutUrl(error: unknown, pattern: RegExp): true {
  assert.ok(error instanceof DfsError)
  assert.equal(error.code, 'DFS_UNAVAILABLE')
  assert.match(error.message, pattern)
  assert.doesNotMatch(error.message, /https:\/\/|127\.0\.0\.1/)
  return true
}

describe('directory failover', () => {
  let directory: TestDirectory
  let proxyAgent: NodeAgent
  let session: string
  const closers: (() => Promise<unknown> | unknown)[] = []

  before(async () => {
    directory = await testDirectory(systemClock)
    proxyAgent = agentFor(directory.ca, { role: 'proxy', id: 1 })
    session = (await directory.service.accounts.login('alice', 'a password')).token
  })
  after(async () => {
    for (const close of closers.reverse()) await close()
    await proxyAgent.close()
    await directory.close()
  })

  const started = async (made: Promise<Front>): Promise<Front> => {
    const one = await made
    closers.push(() => one.close())
    return one
  }

  test('a call goes past a directory that refuses connections and one shutting down; later calls go straight to the one that answered', async () => {
    const dead = await deadUrl()
    const draining = await started(front(directory.app, directory.ca, () => 'drain'))
    const live = await started(front(directory.app, directory.ca))
    const log = keptLog()
    const client = new DirectoryClient([dead, draining.url, live.url], proxyAgent, { log })

    const page = await client.forUser(session).list({})
    assert.deepEqual(page.files, [])
    assert.equal(client.url, live.url)
    assert.deepEqual(draining.seen, ['GET /v1/list'])
    assert.deepEqual(log.lines, [
      `directory ${dead} lost: directory unreachable (connection refused); trying ${draining.url}`,
      `directory ${live.url} answered; using it`,
    ])

    await client.forUser(session).list({})
    await client.checkSession(session)
    assert.deepEqual(draining.seen, ['GET /v1/list'], 'the directory in use is asked first')
    assert.deepEqual(live.seen, ['GET /v1/list', 'GET /v1/list', 'POST /v1/sessions/check'])
  })

  test("a directory's own refusals are answers: no other directory is asked", async () => {
    const first = await started(front(directory.app, directory.ca))
    const second = await started(front(directory.app, directory.ca))
    const client = new DirectoryClient([first.url, second.url], proxyAgent)
    const user = client.forUser(session)
    await assert.rejects(user.locate('missing.txt'), { code: 'DFS_NOT_FOUND' })
    // DFS_UNAVAILABLE of its own (no file server to place on) is a 503 too, but an answer.
    await assert.rejects(user.place('new.txt', 10, {}), { code: 'DFS_UNAVAILABLE' })
    await assert.rejects(client.forUser('x'.repeat(43)).list({}), { code: 'DFS_AUTH' })
    assert.deepEqual(second.seen, [])
    assert.equal(client.url, first.url)
  })

  test('with every directory down a call gives up within its bound, naming no URL; the next gives up at once', async () => {
    const client = new DirectoryClient([await deadUrl(), await deadUrl()], proxyAgent, { failoverMs: 1000 })
    let begun = Date.now()
    await assert.rejects(client.servers(), (error) =>
      assertUnavailableWithoutUrl(error, /^directory unreachable \(connection refused\)$/),
    )
    const first = Date.now() - begun
    assert.ok(first >= 1000 && first < 5000, `gave up after ${first} ms`)

    begun = Date.now()
    await assert.rejects(client.servers(), { code: 'DFS_UNAVAILABLE' })
    assert.ok(Date.now() - begun < 500, 'no second wait while none has answered')
  })

  test('one directory alone is not retried', async () => {
    const draining = await started(front(directory.app, directory.ca, () => 'drain'))
    const client = new DirectoryClient(draining.url, proxyAgent)
    await assert.rejects(client.servers(), (error) =>
      assertUnavailableWithoutUrl(error, /^directory unavailable \(HTTP 503\)$/),
    )
    assert.deepEqual(draining.seen, ['GET /v1/servers'])
  })

  test('after a connection broke with the request sent, a read goes again; a call that creates something does not', async () => {
    const lossy = await started(
      front(directory.app, directory.ca, (request) =>
        ['GET /v1/list', 'POST /v1/tokens'].includes(`${request.method} ${request.url?.split('?')[0]}`)
          ? 'lose'
          : 'route',
      ),
    )
    const live = await started(front(directory.app, directory.ca))
    const client = new DirectoryClient([lossy.url, live.url], proxyAgent)
    const user = client.forUser(session)
    await user.list({})
    assert.deepEqual(live.seen, ['GET /v1/list'])

    const lossyAgain = new DirectoryClient([lossy.url, live.url], proxyAgent).forUser(session)
    const before = (await directory.joining.list()).length
    await assert.rejects(lossyAgain.createToken({ role: 'proxy', ttlMs: 60_000 }), (error) =>
      assertUnavailableWithoutUrl(error, /^directory failed \(connection (closed|reset)\)$/),
    )
    // It was made (the answer is what was lost), and only once.
    assert.equal((await directory.joining.list()).length, before + 1)
    assert.ok(!live.seen.includes('POST /v1/tokens'))
  })

  describe('a write whose commit answer is lost', () => {
    let lossy: Front
    let live: Front
    let proxy: ProxyService
    let feed: ChangeFeed
    const changes: ChangeEvent[] = []

    before(async () => {
      lossy = await started(
        front(directory.app, directory.ca, (request) =>
          request.method === 'POST' && request.url === '/v1/commits' ? 'lose' : 'route',
        ),
      )
      live = await started(front(directory.app, directory.ca))
      const directories = [lossy.url, live.url]
      const root = await mkdtemp(join(tmpdir(), 'dfs-failover-'))
      closers.push(() => rm(root, { recursive: true, force: true }))
      // Two file servers (a write needs two copies), whose directory client is the one under test.
      for (const id of [1, 2]) {
        const agent = agentFor(directory.ca, { role: 'fileserver', id })
        const own = issueNodeCert(directory.ca, { role: 'fileserver', id }, ['127.0.0.1'])
        const store = new DiskBlobStore(join(root, `fileserver-${id}`))
        await store.open()
        const client = new DirectoryClient(directories, agent)
        const service = new FileServerService(
          id,
          store,
          client,
          agent,
          { warn: () => undefined },
          join(store.root, 'inventory'),
        )
        const app = buildFileServerApp(service, { tls: { ...own, ca: directory.ca.cert } })
        const url = await listen(app, '127.0.0.1', 0)
        closers.push(async () => {
          await app.close()
          await agent.close()
        })
        await client.heartbeat(id, url, 1024 ** 3)
      }
      const cache = new BlobCache(join(root, 'cache'), 1024 * 1024, systemClock)
      await cache.open()
      closers.push(() => cache.close())
      const client = new DirectoryClient(directories, proxyAgent)
      proxy = new ProxyService({
        id: 1,
        directory: client,
        agent: proxyAgent,
        cache,
        clock: systemClock,
        random: systemRandom,
      })
      feed = new ChangeFeed(client.failover, proxyAgent, systemClock)
      feed.on('change', (event) => changes.push(event))
      feed.start()
      closers.push(() => feed.stop())
      await eventually('the change feed to connect', async () => feed.state.connected || undefined)
    })

    test('is sent again, refused as a conflict, and counted as the write it was: once, and a success', async () => {
      const caller = await proxy.authenticate(session)
      const data = Buffer.from('landed, though nobody heard\n')
      const version = await proxy.upload(caller, 'landed.txt', Readable.from([data]), { length: data.length })
      assert.equal(version.version, 1)
      assert.equal(version.sha256, sha256(data))
      assert.equal(version.writer, 'alice')
      assert.equal(version.wanted, 2)
      assert.deepEqual(
        lossy.seen.filter((call) => call === 'POST /v1/commits'),
        ['POST /v1/commits'],
      )
      assert.deepEqual(
        live.seen.filter((call) => call === 'POST /v1/commits'),
        ['POST /v1/commits'],
        'the commit was sent again, to the other directory',
      )
      const history = await caller.directory.history('landed.txt')
      assert.deepEqual(
        history.map((v) => v.version),
        [1],
        'applied once',
      )

      // Another write: its primary's commit goes to the directory it uses now (or, if it is the other
      // file server, is lost and sent again the same way); either way it is one version.
      const next = Buffer.from('second\n')
      const second = await proxy.upload(caller, 'after.txt', Readable.from([next]), { length: next.length })
      assert.equal(second.sha256, sha256(next))
      assert.deepEqual(
        (await caller.directory.history('after.txt')).map((v) => v.version),
        [1],
      )
    })

    test("another writer's version is no write of ours, even of the same bytes: that conflict stands", async () => {
      const alice = await proxy.authenticate(session)
      const bob = await proxy.authenticate(
        (await directory.service.accounts.login('bob', 'b password')).token,
      )
      const placements = () => [...lossy.seen, ...live.seen].filter((c) => c === 'POST /v1/placements').length
      const placedBefore = placements()
      const data = Buffer.from('the same bytes from two writers\n')
      const bodies = [new PassThrough(), new PassThrough()]
      const writes = [alice, bob].map((caller, i) =>
        proxy.upload(caller, 'race.txt', bodies[i]!, { length: data.length }),
      )
      // Both placed before either sends a byte: both expect to make version 1.
      await eventually('both writes placed', async () => placements() === placedBefore + 2 || undefined)
      for (const body of bodies) body.end(data)
      const outcomes = await Promise.allSettled(writes)
      const won = outcomes.filter((o) => o.status === 'fulfilled')
      const lost = outcomes.filter((o) => o.status === 'rejected')
      assert.equal(won.length, 1)
      assert.equal(lost.length, 1)
      assert.equal((lost[0]!.reason as DfsError).code, 'DFS_CONFLICT')
      assert.deepEqual(
        (await alice.directory.history('race.txt')).map((v) => v.version),
        [1],
      )
    })

    test('the change feed follows the directory in use', async () => {
      await eventually(
        'the feed to hear of both writes',
        async () =>
          ['landed.txt', 'after.txt'].every((name) => changes.some((c) => c.name === name)) || undefined,
      )
      assert.equal(feed.state.connected, true)
      assert.ok([lossy.url, live.url].includes(feed.state.directory ?? ''))
    })
  })
})
