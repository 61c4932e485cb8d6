// Bounded requests on real sockets, against real dfs processes with short timeouts: headers that
// come too slowly or are too large, idle keep-alive connections, uploads that go quiet (cut, leaving
// no temp file on any file server), slow ones that keep moving (not cut), and bodies that are not
// the length they declared.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { undiciAgent } from '../helpers/undici-agent.ts'
import { readCaCert } from '../../src/tls/ca-files.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'
import { codeOf, messageOf, rawExchange, type RawAnswer } from '../helpers/raw-https.ts'

const TIMEOUT_MS = 1000
const KiB = 1024

describe('bounded requests on real sockets', () => {
  let cluster: TestCluster
  let ca: string
  let bearer: string

  before(async () => {
    cluster = await TestCluster.start({
      fileservers: 2,
      env: {
        DFS_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS),
        DFS_BODY_TIMEOUT_MS: String(TIMEOUT_MS),
        DFS_KEEP_ALIVE_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    })
    ca = (await readCaCert(cluster.data))!
    const agent = undiciAgent({ ca })
    const login = await request(`${cluster.proxy}/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'tester', password: 'test-password' }),
      dispatcher: agent,
    })
    bearer = `Bearer ${((await login.body.json()) as { token: string }).token}`
    await agent.close()
  })
  after(async () => {
    await cluster?.stop()
  })

  const refused = (answer: RawAnswer, status: number, code: string, what: string) => {
    assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`)
    assert.equal(codeOf(answer), code, what)
    return messageOf(answer)
  }
  const temps = async () => {
    const all = await Promise.all(
      [...cluster.fileservers.keys()].map((id) => readdir(join(cluster.data, `fileserver-${id}`, 'tmp'))),
    )
    return all.flat()
  }
  const upload = (name: string, headers: string[]) =>
    [`PUT /v1/files?${name} HTTP/1.1`, 'host: dfs', `authorization: ${bearer}`, ...headers, '', ''].join(
      '\r\n',
    )

  test('headers that do not arrive in time are cut with 408 DFS_TIMEOUT, on the proxy and the directory', async () => {
    for (const url of [cluster.proxy, cluster.directory.url]) {
      const answer = await rawExchange(url, ca, (socket) => {
        socket.write('GET /health HTTP/1.1\r\nhost: dfs\r\n')
      })
      assert.match(refused(answer, 408, 'DFS_TIMEOUT', url), /headers did not arrive within 1 s/)
      assert.ok(answer.closedAfterMs >= TIMEOUT_MS, `closed after ${answer.closedAfterMs} ms`)
      assert.ok(answer.closedAfterMs < 5 * TIMEOUT_MS, `closed after ${answer.closedAfterMs} ms`)
    }
  })

  test('oversized headers get 431 DFS_HEADERS_TOO_LARGE; a request that is not HTTP, 400 DFS_BAD_REQUEST', async () => {
    const large = await rawExchange(cluster.proxy, ca, (socket) => {
      socket.write(`GET /health HTTP/1.1\r\nhost: dfs\r\nx-padding: ${'a'.repeat(20 * KiB)}\r\n\r\n`)
    })
    assert.match(refused(large, 431, 'DFS_HEADERS_TOO_LARGE', 'large'), /larger than 16384 bytes/)
    const garbage = await rawExchange(cluster.proxy, ca, (socket) => {
      socket.write('HELLO\x00 there\r\n\r\n')
    })
    refused(garbage, 400, 'DFS_BAD_REQUEST', 'not HTTP')
  })

  test('an idle keep-alive connection is closed by the server', async () => {
    const answer = await rawExchange(cluster.proxy, ca, (socket) => {
      socket.write('GET /health HTTP/1.1\r\nhost: dfs\r\n\r\n')
    })
    assert.equal(answer.status, 200)
    assert.equal(answer.headers.connection, 'keep-alive')
    // Node allows a second on top of the timeout it announces; the default would be 15 s.
    assert.ok(answer.closedAfterMs >= TIMEOUT_MS, `closed after ${answer.closedAfterMs} ms`)
    assert.ok(answer.closedAfterMs < 5 * TIMEOUT_MS, `closed after ${answer.closedAfterMs} ms`)
  })

  test('an upload that goes quiet is cut with 408 DFS_TIMEOUT, and no file server keeps its temp file', async () => {
    const answer = await rawExchange(cluster.proxy, ca, async (socket) => {
      socket.write(
        upload('name=quiet.bin', ['content-type: application/octet-stream', `content-length: ${1024 * KiB}`]),
      )
      socket.write(Buffer.alloc(256 * KiB, 7))
      // The bytes reached a file server: this is where what is left behind would be.
      await eventually('a temp file on the primary', async () => (await temps()).length > 0)
    })
    assert.match(refused(answer, 408, 'DFS_TIMEOUT', 'quiet upload'), /sent nothing for 1 s/)
    await eventually('no temp file on any file server', async () => (await temps()).length === 0)
    assert.match((await cluster.run(['stat', 'quiet.bin'])).stderr, /DFS_NOT_FOUND/)
  })

  test('a slow upload that keeps moving is not cut, however long it takes', { timeout: 60_000 }, async () => {
    const chunk = Buffer.alloc(4 * KiB, 9)
    const chunks = 12
    const answer = await rawExchange(cluster.proxy, ca, async (socket) => {
      socket.write(
        upload('name=slow.bin', [
          'content-type: application/octet-stream',
          `content-length: ${chunks * chunk.length}`,
          'connection: close',
        ]),
      )
      // The pace is the point: a chunk every quarter of the timeout, for three timeouts in all.
      for (let i = 0; i < chunks; i++) {
        await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS / 4))
        socket.write(chunk)
      }
    })
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    assert.equal((await cluster.stat('slow.bin')).size, chunks * chunk.length)
  })

  test('a body shorter or longer than declared is refused with 400 naming the mismatch; nothing is stored', async () => {
    const chunked = ['content-type: application/octet-stream', 'transfer-encoding: chunked']
    const lastChunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`
    const short = await rawExchange(cluster.proxy, ca, (socket) => {
      socket.write(upload('name=short.bin&length=1000', chunked) + lastChunk('ten bytes!'))
    })
    assert.match(refused(short, 400, 'DFS_BAD_REQUEST', 'short'), /ended after 10 of its declared 1000 bytes/)
    const long = await rawExchange(cluster.proxy, ca, (socket) => {
      socket.write(upload('name=long.bin&length=5', chunked) + lastChunk('ten bytes!'))
    })
    assert.match(refused(long, 400, 'DFS_BAD_REQUEST', 'long'), /longer than its declared length of 5 bytes/)
    // A client that says 1000 bytes, sends 10, and closes its side.
    const closed = await rawExchange(cluster.proxy, ca, (socket) => {
      socket.end(
        upload('name=cut.bin', ['content-type: application/octet-stream', 'content-length: 1000']) +
          'ten bytes!',
      )
    })
    assert.match(refused(closed, 400, 'DFS_BAD_REQUEST', 'closed'), /declared content-length of 1000 bytes/)
    for (const name of ['short.bin', 'long.bin', 'cut.bin']) {
      assert.match((await cluster.run(['stat', name])).stderr, /DFS_NOT_FOUND/, name)
    }
    await eventually('no temp file on any file server', async () => (await temps()).length === 0)
  })

  test('a JSON body over the limit gets its 413 every time, not a reset while the client is still sending', async () => {
    // Refused for its declared length before a byte is read: the server must read and drop the rest
    // for a moment rather than close at once, or the client's next write draws a reset (EPIPE).
    // A plain undici Agent, as a script would use: it writes the body as fast as the socket takes it.
    const agent = new Agent({ connect: { ca } })
    try {
      const failures: string[] = []
      for (let i = 0; i < 20; i++) {
        try {
          const response = await request(`${cluster.proxy}/v1/locks`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: bearer },
            body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * KiB) }),
            dispatcher: agent,
          })
          const body = (await response.body.json()) as { error?: { code?: string } }
          if (response.statusCode !== 413 || body.error?.code !== 'DFS_TOO_LARGE')
            failures.push(`${response.statusCode} ${JSON.stringify(body)}`)
        } catch (error) {
          failures.push((error as Error).message)
        }
      }
      assert.deepEqual(failures, [])
    } finally {
      await agent.close()
    }
  })
})
