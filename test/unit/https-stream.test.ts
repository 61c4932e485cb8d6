// The CLI's calls to its proxy over node:https: a kept connection that the server closed as a call went
// out is retried once on a new one when the call's body can be sent again, and not otherwise; a JSON
// call with a time limit fails in words when no answer begins in it; a JSON answer is read whole, bounded.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { Agent, createServer, type Server } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { Readable } from 'node:stream'
import { httpsRequest, readJson } from '../../src/client/https-stream.ts'
import { DfsError } from '../../src/protocol/errors.ts'
import { issueNodeCert, makeCa } from '../../src/tls/ca.ts'

describe('calls to the proxy over node:https', () => {
  const ca = makeCa()
  let server: Server
  let base: string
  /** Requests seen on each connection, in the order the connections came. */
  const perConnection: number[] = []
  /** Whether the server drops a kept connection on its second request, without answering. */
  let dropSecond = true

  before(async () => {
    const tls = issueNodeCert(ca, { role: 'proxy', id: 1 }, ['127.0.0.1'])
    server = createServer({ ...tls, keepAliveTimeout: 60_000 })
    const index = new WeakMap<Socket, number>()
    server.on('secureConnection', (socket: Socket) => index.set(socket, perConnection.push(0) - 1))
    server.on('request', (req, res) => {
      const socket = req.socket as Socket
      const at = index.get(socket)!
      const seen = ++perConnection[at]!
      if (new URL(req.url ?? '/', base).pathname === '/v1/silent') return
      req.resume()
      req.on('end', () => {
        if (dropSecond && seen === 2) return void socket.destroy()
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  const call = (agent: Agent, body: string | Readable, path = '/v1/echo', timeoutMs?: number) =>
    httpsRequest('POST', `${base}${path}`, {
      ca: ca.cert,
      headers: { 'content-type': 'application/json' },
      body,
      what: 'proxy test',
      agent,
      timeoutMs,
    })

  /** Runs `calls` with a fresh kept-alive agent and a fresh count of requests per connection. */
  const withAgent = async (drop: boolean, calls: (agent: Agent) => Promise<void>) => {
    perConnection.length = 0
    dropSecond = drop
    const agent = new Agent({ keepAlive: true, ca: ca.cert })
    try {
      await calls(agent)
    } finally {
      agent.destroy()
    }
  }

  test('a kept connection closed under a call with a whole body: sent again on a new one', () =>
    withAgent(true, async (agent) => {
      assert.deepEqual(await readJson(await call(agent, '{"n":1}')), { ok: true })
      assert.deepEqual(await readJson(await call(agent, '{"n":2}')), { ok: true })
      // The second call went out on the first connection, which dropped it; then on a new one.
      assert.deepEqual(perConnection.slice(0, 2), [2, 1])
    }))

  test('a streamed body is not sent twice: the call fails as DFS_UNAVAILABLE', () =>
    withAgent(true, async (agent) => {
      await readJson(await call(agent, '{"n":1}'))
      await assert.rejects(call(agent, Readable.from([Buffer.from('{"n":2}')])), (error: DfsError) => {
        assert.equal(error.code, 'DFS_UNAVAILABLE')
        assert.match(error.message, /^proxy test failed \(/)
        return true
      })
      assert.deepEqual(perConnection, [2])
    }))

  test('one connection carries call after call', () =>
    withAgent(false, async (agent) => {
      for (let i = 0; i < 5; i++)
        assert.deepEqual(await readJson(await call(agent, `{"n":${i}}`)), { ok: true })
      assert.deepEqual(perConnection, [5])
    }))

  test('no answer within the time limit: DFS_UNAVAILABLE, "no answer in time"', () =>
    withAgent(false, async (agent) => {
      await assert.rejects(call(agent, '{}', '/v1/silent', 300), (error: DfsError) => {
        assert.equal(error.code, 'DFS_UNAVAILABLE')
        assert.equal(error.message, 'proxy test failed (no answer in time)')
        return true
      })
    }))
})

describe('JSON answers from the proxy', () => {
  const answer = (chunks: Buffer[]) => Readable.from(chunks) as unknown as IncomingMessage

  test('a character split across two chunks is read whole', async () => {
    const bytes = Buffer.from('{"name":"café ☕"}')
    const cut = bytes.indexOf(0xa9) // the second byte of é
    assert.deepEqual(await readJson(answer([bytes.subarray(0, cut), bytes.subarray(cut)])), {
      name: 'café ☕',
    })
  })

  test('an answer past 1 MiB is refused, not gathered', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    await assert.rejects(readJson(answer(Array.from({ length: 17 }, () => chunk))), (error: DfsError) => {
      assert.equal(error.code, 'DFS_INTERNAL')
      assert.equal(error.message, 'answer too large')
      return true
    })
  })
})
