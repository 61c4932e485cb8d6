// What a role's log says: one JSON record a line (pino's format) for everything, the listening and
// shutdown lines included; a line a request at info, without the query (a lease key is a secret);
// nothing of the kind at warn; a client that hangs up mid-download is a debug line, not a warning;
// and an expected failure (a full disk, a file server down) is a warning without a stack.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { Agent, request } from 'undici'
import { stopChild } from '../../src/cli/children.ts'
import { ProxyClient } from '../../src/client/proxy-client.ts'
import { readCaCert } from '../../src/tls/ca.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'

type LogRecord = {
  level: number
  msg: string
  role?: string
  path?: string
  status?: number
  method?: string
}

describe('role logs', () => {
  let cluster: TestCluster
  const records = async (name: string): Promise<LogRecord[]> => {
    const text = await readFile(join(cluster.root, `${name}.log`), 'utf8')
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        try {
          return JSON.parse(line) as LogRecord
        } catch {
          throw new Error(`${name}.log has a line that is not a JSON record: ${line}`)
        }
      })
  }

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3, logLevel: 'debug' })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('every line is a JSON record; a request is one info line with its path and status, no query', async () => {
    assert.equal((await cluster.run(['put', '-', 'logs/a.txt'], { input: 'a\n' })).code, 0)
    assert.equal((await cluster.run(['put', '-', 'logs/a.txt', '--force'], { input: 'b\n' })).code, 0)
    const proxy = await records('proxy-1')
    assert.ok(
      proxy.some((r) => r.level === 30 && /listening on https:\/\//.test(r.msg)),
      'the listening line is a record',
    )
    const puts = proxy.filter((r) => r.msg === 'request' && r.method === 'PUT' && r.path === '/v1/files')
    assert.ok(puts.length >= 2 && puts.every((r) => r.level === 30 && r.status === 200), JSON.stringify(puts))
    const fileserverLines =
      (await readFile(join(cluster.root, 'fileserver-1.log'), 'utf8')) +
      (await readFile(join(cluster.root, 'fileserver-2.log'), 'utf8')) +
      (await readFile(join(cluster.root, 'fileserver-3.log'), 'utf8'))
    assert.doesNotMatch(fileserverLines, /lease=|expectedVersion=/, 'queries (lease keys) are never logged')
    for (const name of ['directory', 'fileserver-1']) await records(name)
  })

  test('a client that hangs up mid-download is a debug line, without a stack', async () => {
    const big = join(cluster.root, 'big.bin')
    const { writeFile } = await import('node:fs/promises')
    await writeFile(big, Buffer.alloc(64 * 1024 * 1024, 7))
    assert.equal((await cluster.run(['put', big, 'logs/big.bin'])).code, 0)
    const ca = (await readCaCert(cluster.data))!
    const session = await new ProxyClient(cluster.proxy, ca).login('tester', 'test-password')
    const agent = new Agent({ connect: { ca } })
    const response = await request(`${cluster.proxy}/v1/files?name=logs/big.bin`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${session.token}` },
    })
    // Read a little, then hang up.
    for await (const _chunk of response.body) break
    await agent.destroy()
    await eventually('the cut download to be logged', async () =>
      (await records('proxy-1')).some(
        (r) => r.level === 20 && /client went away|download cut: the client went away/.test(r.msg),
      ),
    )
    const warnings = (await records('proxy-1')).filter(
      (r) => r.level >= 40 && /download cut|request failed/.test(r.msg),
    )
    assert.deepEqual(warnings, [], 'no warning for a client that went away')
  })

  test('a full disk (507) and a file server that is down (503) are warnings with their code, without a stack', async () => {
    const ca = (await readCaCert(cluster.data))!
    const session = await new ProxyClient(cluster.proxy, ca).login('tester', 'test-password')
    const agent = new Agent({ connect: { ca } })
    // A body of unknown length (chunked), so that only ?length= declares one.
    const call = async (method: 'GET' | 'PUT', query: string, body?: Readable) => {
      const response = await request(`${cluster.proxy}/v1/files?${query}`, {
        dispatcher: agent,
        method,
        headers: {
          authorization: `Bearer ${session.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/octet-stream' }),
        },
        ...(body === undefined ? {} : { body }),
      })
      const answer = (await response.body.json()) as { error: { code: string } }
      return [response.statusCode, answer.error.code]
    }
    // A petabyte will fit on no file server: the directory refuses its placement, and the proxy says
    // so while the body is still coming (it never ends here; a real one would not for a long time).
    const petabyte = new PassThrough()
    petabyte.write('x')
    assert.deepEqual(await call('PUT', `name=logs/huge.bin&length=${2 ** 50}`, petabyte), [
      507,
      'DFS_NO_SPACE',
    ])
    petabyte.destroy()

    // A file only its file servers have (stdin of unknown length is not copied into the proxy's
    // cache), both of them killed: the read finds no holder up.
    assert.equal((await cluster.run(['put', '-', 'logs/down.txt'], { input: 'down\n' })).code, 0)
    const holders = (await cluster.stat('logs/down.txt')).holders
    for (const id of holders) {
      const child = cluster.fileservers.get(id)!
      child.process.kill('SIGKILL')
      await child.exited
    }
    assert.deepEqual(await call('GET', 'name=logs/down.txt'), [503, 'DFS_UNAVAILABLE'])
    await agent.close()

    type Failure = LogRecord & { code?: string; reason?: string; err?: unknown; stack?: unknown }
    const failures = async (role: string) =>
      ((await records(role)) as Failure[]).filter((r) => r.msg === 'request failed')
    await eventually('the proxy to log both failures', async () => (await failures('proxy-1')).length >= 2)
    const proxy = await failures('proxy-1')
    assert.deepEqual(
      proxy.map((r) => [r.level, r.code]),
      [
        [40, 'DFS_NO_SPACE'],
        [40, 'DFS_UNAVAILABLE'],
      ],
    )
    assert.match(proxy[1]!.reason!, /file server \d+ /)
    // The directory refused the placement with the same 507, and says so the same way.
    const directory = await failures('directory')
    assert.deepEqual(
      directory.map((r) => [r.level, r.code]),
      [[40, 'DFS_NO_SPACE']],
    )
    for (const record of [...proxy, ...directory]) {
      assert.equal(record.err, undefined, 'no error object, so no stack')
      assert.doesNotMatch(JSON.stringify(record), /\bat .*\(|stack/)
    }
    for (const id of holders) await cluster.startFileServer(id)
  })

  test('stopping is said in the log: stopping (SIGTERM), then stopped', async () => {
    await stopChild(cluster.proxies[0]!, 5000)
    const proxy = await records('proxy-1')
    const messages = proxy.map((r) => r.msg)
    assert.ok(messages.includes('stopping (SIGTERM)'), messages.slice(-3).join(' | '))
    assert.equal(messages.at(-1), 'stopped')
  })
})
