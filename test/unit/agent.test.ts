// The nodes' HTTPS agent (node:https) on real sockets: what undici gave for free and agent.ts adds
// (time limits to connect, to the headers and between the bytes of a body; a body held to its
// declared length), kept-alive connections, and the certificate presented for mutual TLS.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from 'node:net'
import { PassThrough, Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TLSSocket } from 'node:tls'
import { NodeAgent, text } from '../../src/client/agent.ts'
import { classify } from '../../src/client/failover.ts'
import { networkFailure } from '../../src/client/network-failure.ts'
import { lend } from '../../src/streams/lend.ts'
import { issueNodeCert, makeCa } from '../../src/tls/ca.ts'
import { identityOf } from '../../src/tls/identity.ts'

const ca = makeCa()

/** Each request to the server: its path, the bytes of its body, the socket it came on, its peer. */
interface Seen {
  path: string
  bytes: number
  socket: Socket
  peer: string | undefined
}

describe("the nodes' HTTPS agent", { timeout: 20_000 }, () => {
  let server: Server
  let base: string
  const seen: Seen[] = []
  const held: ServerResponse[] = []

  before(async () => {
    const own = issueNodeCert(ca, { role: 'directory', id: 0 }, ['127.0.0.1'])
    server = createServer(
      { ...own, ca: ca.cert, requestCert: true, rejectUnauthorized: false },
      (req: IncomingMessage, res: ServerResponse) => {
        let bytes = 0
        req.on('data', (chunk: Buffer) => (bytes += chunk.length))
        req.on('end', () => {
          const path = req.url ?? '/'
          const cert = (req.socket as TLSSocket).getPeerCertificate()
          const identity = cert && Object.keys(cert).length > 0 ? identityOf(cert) : undefined
          seen.push({ path, bytes, socket: req.socket, peer: identity && `${identity.role}:${identity.id}` })
          if (path === '/silent') return void held.push(res)
          if (path === '/stalls') {
            // Headers and the first bytes, then nothing.
            res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' })
            res.write(Buffer.alloc(10))
            return void held.push(res)
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes }))
        })
      },
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    for (const res of held) res.destroy()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  test('calls reuse one kept-alive connection, and present the certificate they were given', async () => {
    const member = issueNodeCert(ca, { role: 'fileserver', id: 4 })
    const agent = new NodeAgent({ ca: ca.cert, ...member })
    try {
      seen.length = 0
      for (const path of ['/a', '/b', '/c']) {
        const answer = await agent.request(`${base}${path}`)
        assert.equal(answer.statusCode, 200)
        assert.deepEqual(JSON.parse(await text(answer.body)), { bytes: 0 })
      }
      assert.deepEqual(
        seen.map((s) => s.path),
        ['/a', '/b', '/c'],
      )
      assert.equal(new Set(seen.map((s) => s.socket)).size, 1, 'one connection')
      assert.deepEqual(
        seen.map((s) => s.peer),
        ['fileserver:4', 'fileserver:4', 'fileserver:4'],
      )
    } finally {
      await agent.close()
    }
  })

  test('a streamed body arrives whole; one longer or shorter than declared fails the call', async () => {
    const agent = new NodeAgent({ ca: ca.cert })
    try {
      const chunks = () => Readable.from([Buffer.alloc(3000, 1), Buffer.alloc(5000, 2)])
      const whole = await agent.request(`${base}/whole`, {
        body: chunks(),
        headers: { 'content-length': '8000' },
      })
      assert.deepEqual(JSON.parse(await text(whole.body)), { bytes: 8000 })
      seen.length = 0
      for (const declared of ['7999', '8001']) {
        const error = await agent
          .request(`${base}/mismatch`, { body: chunks(), headers: { 'content-length': declared } })
          .then(
            () => assert.fail(`answered with ${declared} declared`),
            (failed: unknown) => failed,
          )
        assert.equal((error as { code?: string }).code, 'ERR_BODY_LENGTH', String(error))
        assert.match(networkFailure('file server 2', error).message, /did not match its declared length/)
      }
      // The connection broke before the server had the bytes it was told of: it took no request
      // (given a moment to have taken one, had a byte too many gone out).
      await sleep(500)
      assert.deepEqual(seen, [])
    } finally {
      await agent.close()
    }
  })

  test('a connection refused has read no byte of a streamed body: the caller may send it elsewhere', async () => {
    const refused = createTcpServer()
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.1', resolve))
    const port = (refused.address() as AddressInfo).port
    await new Promise((resolve) => refused.close(resolve))
    const source = new PassThrough()
    source.end(Buffer.alloc(4096, 7))
    const loan = lend(source)
    const agent = new NodeAgent({ ca: ca.cert })
    try {
      const error = await agent
        .request(`https://127.0.0.1:${port}/v1/blobs`, {
          body: loan.body,
          headers: { 'content-length': '4096' },
        })
        .then(
          () => assert.fail('answered'),
          (failed: unknown) => failed,
        )
      assert.equal(classify(error), 'unsent')
      assert.equal(loan.taken, 0)
      // The same bytes, whole, on a server that is up.
      const again = lend(source)
      const answer = await agent.request(`${base}/again`, {
        body: again.body,
        headers: { 'content-length': '4096' },
      })
      assert.deepEqual(JSON.parse(await text(answer.body)), { bytes: 4096 })
    } finally {
      await agent.close()
    }
  })

  test('no answer within the headers timeout: a call timeout, which may have been sent', async () => {
    const agent = new NodeAgent({ ca: ca.cert })
    try {
      const started = Date.now()
      const error = await agent
        .request(`${base}/silent`, { method: 'POST', body: '{}', headersTimeout: 200 })
        .then(
          () => assert.fail('answered'),
          (failed: unknown) => failed,
        )
      assert.ok(Date.now() - started < 5_000)
      assert.equal((error as Error).name, 'TimeoutError')
      assert.equal(classify(error), 'maybe-sent')
    } finally {
      await agent.close()
    }
  })

  test('a body that stops coming fails after the body timeout, in words', async () => {
    const agent = new NodeAgent({ ca: ca.cert })
    try {
      const answer = await agent.request(`${base}/stalls`, { bodyTimeout: 300 })
      assert.equal(answer.statusCode, 200)
      const error = await text(answer.body).then(
        () => assert.fail('the body ended'),
        (failed: unknown) => failed,
      )
      const reported = networkFailure('file server 1', error)
      assert.equal(reported.code, 'DFS_UNAVAILABLE')
      assert.match(reported.message, /^file server 1 failed \(/)
      assert.equal(classify(error), 'maybe-sent')
    } finally {
      await agent.close()
    }
  })

  test('a server that takes the connection but never completes TLS: timed out connecting, unsent', async () => {
    const sockets: Socket[] = []
    const mute: TcpServer = createTcpServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve))
    const agent = new NodeAgent({ ca: ca.cert }, { connectTimeoutMs: 300 })
    try {
      const url = `https://127.0.0.1:${(mute.address() as AddressInfo).port}/v1/x`
      const error = await agent.request(url, { method: 'POST', body: '{}' }).then(
        () => assert.fail('answered'),
        (failed: unknown) => failed,
      )
      assert.equal((error as { code?: string }).code, 'ETIMEDOUT')
      assert.equal(classify(error), 'unsent')
      assert.match(
        networkFailure('directory', error).message,
        /^directory unreachable \(timed out connecting\)$/,
      )
    } finally {
      await agent.close()
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => mute.close(resolve))
    }
  })

  test("the caller's signal cancels a call: a final failure", async () => {
    const agent = new NodeAgent({ ca: ca.cert })
    try {
      const error = await agent.request(`${base}/silent`, { signal: AbortSignal.timeout(100) }).then(
        () => assert.fail('answered'),
        (failed: unknown) => failed,
      )
      assert.equal(classify(error), 'final')
    } finally {
      await agent.close()
    }
  })
})
