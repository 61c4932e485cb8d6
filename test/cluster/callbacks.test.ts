// Cached reads the change feed keeps valid (callback promises): a proxy serves a name it knows from
// its cache without asking the directory while its promise holds, yet a write through another proxy
// is seen by the very next read, a chmod that takes a reader's access away holds at once, and a
// proxy killed while holding a promise holds writers up only for the promise's length.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PROMISE_MS } from '../../src/roles/directory/callbacks.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'

interface ProxyStatus {
  proxy: { trustedReads: number; promiseHolds: boolean }
}

describe('callback promises', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2, proxies: 2 })
  })
  after(async () => {
    await cluster?.stop()
  })

  const first = () => cluster.proxies[0]!.url
  const second = () => cluster.proxies[1]!.url
  const status = async (proxy: string): Promise<ProxyStatus> =>
    JSON.parse((await cluster.run(['status', '--json'], { proxy })).stdout.toString()) as ProxyStatus
  const read = async (name: string, proxy: string, env?: NodeJS.ProcessEnv) => {
    const result = await cluster.run(['get', name, '-'], { proxy, ...(env ? { env } : {}) })
    assert.equal(result.code, 0, result.stderr)
    return result.stdout.toString()
  }

  test('a name the proxy wrote is read from its cache without asking the directory', async () => {
    // From a file, so the proxy knows the length and keeps a copy as the bytes pass.
    const local = join(cluster.root, 'known.txt')
    await writeFile(local, 'known\n')
    assert.equal((await cluster.run(['put', local, 'known.txt'], { proxy: first() })).code, 0)
    await eventually('proxy 1 to hold a promise', async () => (await status(first())).proxy.promiseHolds)
    const before = (await status(first())).proxy.trustedReads
    assert.equal(await read('known.txt', first()), 'known\n')
    assert.equal(await read('known.txt', first()), 'known\n')
    assert.equal((await status(first())).proxy.trustedReads, before + 2)
    // An up-to-date local copy is left alone; once another proxy writes, it is replaced.
    const same = await cluster.run(['get', 'known.txt', local], { proxy: first() })
    assert.equal(same.code, 0, same.stderr)
    assert.match(same.stdout.toString(), /already current \(version 1\)/)
    const write = await cluster.run(['write', 'known.txt'], { input: 'newer\n', proxy: second() })
    assert.equal(write.code, 0, write.stderr)
    const newer = await cluster.run(['get', 'known.txt', local], { proxy: first() })
    assert.equal(newer.code, 0, newer.stderr)
    assert.equal(await readFile(local, 'utf8'), 'newer\n')
  })

  test('a write through another proxy is seen by the very next read, every time', async () => {
    assert.equal((await cluster.run(['put', '-', 'moving.txt'], { input: 'v0\n', proxy: first() })).code, 0)
    assert.equal(await read('moving.txt', first()), 'v0\n')
    for (let i = 1; i <= 10; i++) {
      const write = await cluster.run(['write', 'moving.txt'], { input: `v${i}\n`, proxy: second() })
      assert.equal(write.code, 0, write.stderr)
      assert.equal(await read('moving.txt', first()), `v${i}\n`, `after write ${i}`)
      // And known again (trusted) for the next round.
      assert.equal(await read('moving.txt', first()), `v${i}\n`)
    }
  })

  test("a chmod that takes a reader's access away holds for the very next read", async () => {
    const alice = cluster.as('alice')
    const bob = cluster.as('bob')
    const put = await cluster.run(['put', '-', 'alice/shared.txt'], {
      input: 'for now\n',
      env: alice,
      proxy: first(),
    })
    assert.equal(put.code, 0, put.stderr)
    assert.equal(await read('alice/shared.txt', first(), bob), 'for now\n')
    assert.equal(await read('alice/shared.txt', first(), bob), 'for now\n')
    const chmod = await cluster.run(['chmod', '600', 'alice/shared.txt'], { env: alice, proxy: second() })
    assert.equal(chmod.code, 0, chmod.stderr)
    const denied = await cluster.run(['get', 'alice/shared.txt', '-'], { env: bob, proxy: first() })
    assert.equal(denied.code, 1)
    assert.match(denied.stderr, /^dfs: DFS_FORBIDDEN: /)
  })

  test('a proxy killed while holding a promise holds writes up only for that long', async () => {
    await eventually('proxy 2 to hold a promise', async () => (await status(second())).proxy.promiseHolds)
    cluster.proxies[1]!.process.kill('SIGKILL')
    await cluster.proxies[1]!.exited
    const started = Date.now()
    const write = await cluster.run(['put', '--force', '-', 'after-kill.txt'], { input: 'x', proxy: first() })
    assert.equal(write.code, 0, write.stderr)
    assert.ok(Date.now() - started < PROMISE_MS + 10_000, `the write took ${Date.now() - started} ms`)
    assert.equal(await read('after-kill.txt', first()), 'x')
  })
})
