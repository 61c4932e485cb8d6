// The limits a role's server puts on connections, on a listening app (plain HTTP on loopback): how
// many at once, and how many requests one may carry before the server asks the client to close it.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { createApp } from '../../src/server/app.ts'
import { eventually } from '../helpers/eventually.ts'

describe('connection limits', () => {
  let app: FastifyInstance
  let port: number

  before(async () => {
    app = createApp({ role: 'test', limits: { maxConnections: 2, maxRequestsPerSocket: 2 } })
    await app.listen({ host: '127.0.0.1', port: 0 })
    port = (app.server.address() as { port: number }).port
  })
  after(async () => {
    await app.close()
  })

  /** A connection that has had its first answer (so the server has surely counted it), if it is let in. */
  const open = (): Promise<Socket | undefined> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => undefined)
      socket.once('data', (first: Buffer) =>
        resolve(/^HTTP\/1\.1 200 /.test(first.toString()) ? socket : undefined),
      )
      socket.once('close', () => resolve(undefined))
      socket.write('GET /health HTTP/1.1\r\nhost: dfs\r\n\r\n')
    })

  test('connections beyond the limit are closed as they arrive, and taken again once one leaves', async () => {
    const a = await open()
    const b = await open()
    assert.ok(a && b, 'two connections are let in')
    assert.equal(await open(), undefined, 'the third is closed unanswered')
    a.destroy()
    const c = await eventually('a place for a new connection', open)
    b.destroy()
    c.destroy()
  })

  test('a connection carries at most maxRequestsPerSocket requests: the last answer says close', async () => {
    // The connections of the test before may take a moment to be counted out.
    const socket = await eventually('a connection, with its first answer', open)
    const answer = new Promise<string>((resolve) =>
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString())),
    )
    socket.write('GET /health HTTP/1.1\r\nhost: dfs\r\n\r\n')
    const second = await answer
    assert.match(second, /^HTTP\/1\.1 200 /)
    assert.match(second, /^connection: close\r$/im)
    socket.destroy()
  })
})
