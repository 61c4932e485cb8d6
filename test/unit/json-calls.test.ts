// The nodes' JSON calls over their agent (agent.ts) answer and fail as the CLI's ky calls do: the
// same request reaches the server, and each kind of failure is classified alike by the failover and
// turned into the same DfsError.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { NodeAgent } from '../../src/client/agent.ts'
import { classify, directoryError } from '../../src/client/failover.ts'
import { jsonClient } from '../../src/client/http.ts'
import { httpsFetch } from '../../src/client/https-fetch.ts'
import { agentJsonClient, kyJsonClient, type JsonClient } from '../../src/client/json-calls.ts'
import { DfsError } from '../../src/protocol/errors.ts'
import { issueNodeCert, makeCa } from '../../src/tls/ca.ts'

interface Seen {
  method: string
  url: string
  type: string | undefined
  accept: string | undefined
  extra: string | undefined
  body: string
}

describe("JSON calls over the nodes' agent, next to ky", () => {
  let server: Server
  let agent: NodeAgent
  let base: string
  let clients: [string, JsonClient][]
  const seen: Seen[] = []

  before(async () => {
    const ca = makeCa()
    const tls = issueNodeCert(ca, { role: 'directory', id: 0 }, ['127.0.0.1'])
    server = createServer(tls, (req, res) => {
      void readBody(req).then((body) => {
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          type: req.headers['content-type'],
          accept: req.headers.accept,
          extra: req.headers['dfs-extra'] as string | undefined,
          body,
        })
        const path = new URL(req.url ?? '/', 'http://x').pathname
        if (path === '/v1/slow') return void setTimeout(() => res.end('{}'), 2000)
        const answers: Record<string, [number, string, string]> = {
          '/v1/echo': [200, 'application/json', JSON.stringify({ ok: true, body })],
          '/v1/conflict': [
            409,
            'application/json; charset=utf-8',
            JSON.stringify({ error: { code: 'DFS_CONFLICT', message: 'changed meanwhile' } }),
          ],
          '/v1/closing': [503, 'text/plain', 'Service Unavailable'],
          '/v1/gateway': [502, 'application/json', '{"message":"bad gateway"}'],
          '/v1/garbled': [200, 'application/json', '{"ok":'],
        }
        const [status, type, text] = answers[path] ?? [404, 'text/plain', 'no']
        res.writeHead(status, { 'content-type': type }).end(text)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
    agent = new NodeAgent({ ca: ca.cert })
    clients = [
      ['ky', kyJsonClient(jsonClient(base, httpsFetch(ca.cert)))],
      ['agent', agentJsonClient(base, agent, 30_000)],
    ]
  })

  after(async () => {
    await agent.close()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  test('the same request reaches the server, and the same answer comes back', async () => {
    const answers: unknown[] = []
    const requests: Seen[] = []
    for (const [, client] of clients) {
      seen.length = 0
      answers.push(
        await client.call('post', 'v1/echo', {
          json: { name: 'a b/ü' },
          searchParams: { x: 'y z', n: 3, gone: undefined },
          headers: { 'dfs-extra': 'yes' },
        }),
      )
      requests.push(...seen)
    }
    assert.deepEqual(answers[0], { ok: true, body: '{"name":"a b/ü"}' })
    assert.deepEqual(answers[1], answers[0])
    assert.equal(requests.length, 2)
    assert.deepEqual(requests[1], requests[0])
    assert.equal(requests[0]!.url, '/v1/echo?x=y+z&n=3')
    assert.match(requests[0]!.type ?? '', /^application\/json/)
  })

  test('a GET without a body sends none', async () => {
    for (const [name, client] of clients) {
      seen.length = 0
      await client.call('get', 'v1/echo', { searchParams: { name: 'f' } })
      assert.equal(seen[0]?.method, 'GET', name)
      assert.equal(seen[0]?.body, '', name)
      assert.equal(seen[0]?.type, undefined, name)
    }
  })

  const failures: [string, string, { timeout?: number }][] = [
    ["the directory's own error", 'v1/conflict', {}],
    ['a server turning requests away unread', 'v1/closing', {}],
    ['a gateway whose upstream failed', 'v1/gateway', {}],
    ['no answer in time', 'v1/slow', { timeout: 200 }],
    ['an answer that is not JSON', 'v1/garbled', {}],
  ]
  for (const [what, path, options] of failures) {
    test(`${what}: classified and reported alike`, async () => {
      const outcomes: { failure: string; code: string; message: string }[] = []
      for (const [, client] of clients) {
        const error = await client.call('post', path, { json: {}, ...options }).then(
          () => assert.fail(`${path} answered`),
          (failed: unknown) => failed,
        )
        const reported = directoryError(error, `${base}/${path}`)
        assert.ok(reported instanceof DfsError)
        outcomes.push({ failure: classify(error), code: reported.code, message: reported.message })
      }
      assert.deepEqual(outcomes[1], outcomes[0])
    })
  }

  test("the caller's signal cancels the call, a final failure", async () => {
    for (const [name, client] of clients) {
      const error = await client.call('post', 'v1/slow', { json: {}, signal: AbortSignal.timeout(100) }).then(
        () => assert.fail('answered'),
        (failed: unknown) => failed,
      )
      assert.equal(classify(error), 'final', name)
    }
  })
})

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => resolve(body))
  })
}
