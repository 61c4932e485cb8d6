// Block-verified reads end to end: a file of several 4 MiB blocks with one bad block on the holder
// read first comes out whole and right (the rest fetched from the other holder by Range), the bad
// holder reported; a cold read streams and fills the cache on the way, and the next read is a cache
// hit; a bad block in the cache is dropped mid-read; and byte ranges through `dfs get --range` and
// the proxy's HTTP API (206, 416); and offline reads of such a file from the cache.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request, type Agent } from 'undici'
import { undiciAgent } from '../helpers/undici-agent.ts'
import { stopChild } from '../../src/cli/children.ts'
import { BLOCK_SIZE } from '../../src/protocol/blocks.ts'
import { readCaCert } from '../../src/tls/ca.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { flipByte, randomFile, sha256File } from '../helpers/files.ts'

interface Status {
  proxy: { cache: { hits: number; misses: number; corrupt: number } }
  reports: { server: number; sha256: string }[]
}

describe('block-verified reads', () => {
  let cluster: TestCluster
  let agent: Agent
  let token: string
  const size = 2 * BLOCK_SIZE + 123_457

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2, proxies: 2 })
    agent = undiciAgent({ ca: (await readCaCert(cluster.data))! })
    const login = await request(`${cluster.proxy}/v1/login`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'tester', password: 'test-password' }),
    })
    token = ((await login.body.json()) as { token: string }).token
  })
  after(async () => {
    await agent?.close()
    await cluster?.stop()
  })

  const status = async (): Promise<Status> =>
    JSON.parse((await cluster.run(['status', '--json'])).stdout.toString()) as Status
  const blobOn = (server: number, sha: string) =>
    join(cluster.data, `fileserver-${server}`, 'objects', sha.slice(0, 2), sha)
  const cached = (sha: string) =>
    join(cluster.data, 'proxy-1', 'cache', 'blobs', 'objects', sha.slice(0, 2), sha)
  /** Puts a new file of `size` random bytes through proxy 2, so proxy 1 has no copy. */
  const putElsewhere = async (name: string): Promise<{ local: string; digest: string }> => {
    const local = join(cluster.root, name)
    const digest = await randomFile(local, size)
    const put = await cluster.run(['put', local, name], { proxy: cluster.proxies[1]!.url })
    assert.equal(put.code, 0, put.stderr)
    return { local, digest }
  }

  test('a bad block on the holder read first is replaced from the other, and that holder reported', async () => {
    const { digest } = await putElsewhere('bad-block.bin')
    const file = await cluster.stat('bad-block.bin')
    assert.deepEqual(file.holders.length, 2)
    // Only the replica, which is read first, has a bad block (the second one).
    const replica = file.holders.find((h) => h !== file.primary)!
    await flipByte(blobOn(replica, digest), BLOCK_SIZE + 99)
    const out = join(cluster.root, 'bad-block.out')
    const get = await cluster.run(['get', 'bad-block.bin', out])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(await sha256File(out), digest)
    const seen = await status()
    assert.ok(
      seen.reports.some((r) => r.server === replica && r.sha256 === digest),
      JSON.stringify(seen.reports),
    )
  })

  test('a cold read fills the cache as it streams; the next read is a hit; a bad cached block is dropped', async () => {
    const { digest } = await putElsewhere('cold.bin')
    const before = (await status()).proxy.cache
    const first = await cluster.run(['get', 'cold.bin', join(cluster.root, 'cold.1')])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(await sha256File(cached(digest)), digest, 'the cold read left a whole copy in the cache')
    const again = await cluster.run(['get', 'cold.bin', join(cluster.root, 'cold.2')])
    assert.equal(again.code, 0, again.stderr)
    const after = (await status()).proxy.cache
    assert.equal(after.misses, before.misses + 1)
    assert.equal(after.hits, before.hits + 1)

    await flipByte(cached(digest), 2 * BLOCK_SIZE + 5)
    const third = await cluster.run(['get', 'cold.bin', join(cluster.root, 'cold.3')])
    assert.equal(third.code, 0, third.stderr)
    assert.equal(await sha256File(join(cluster.root, 'cold.3')), digest)
    assert.equal((await status()).proxy.cache.corrupt, after.corrupt + 1)
  })

  test('dfs get --range gives exactly the bytes asked for, checked; one past the end is DFS_BAD_RANGE', async () => {
    const { local } = await putElsewhere('ranged.bin')
    const bytes = await readFile(local)
    const cases: [string, Buffer][] = [
      [`${BLOCK_SIZE - 3}-${BLOCK_SIZE + 3}`, bytes.subarray(BLOCK_SIZE - 3, BLOCK_SIZE + 4)],
      ['0-0', bytes.subarray(0, 1)],
      [`${2 * BLOCK_SIZE}-`, bytes.subarray(2 * BLOCK_SIZE)],
      ['-10', bytes.subarray(size - 10)],
    ]
    for (const [range, expected] of cases) {
      const get = await cluster.run(['get', '--range', range, 'ranged.bin', '-'])
      assert.equal(get.code, 0, `${range}: ${get.stderr}`)
      assert.ok(get.stdout.equals(expected), `--range ${range}: ${get.stdout.length} bytes`)
    }
    const past = await cluster.run(['get', '--range', `${size}-`, 'ranged.bin', '-'])
    assert.equal(past.code, 1)
    assert.match(past.stderr, /^dfs: DFS_BAD_RANGE: /)
    const nonsense = await cluster.run(['get', '--range', 'ten-twenty', 'ranged.bin', '-'])
    assert.equal(nonsense.code, 2)
    assert.match(nonsense.stderr, /^dfs: DFS_USAGE: --range/)
  })

  test('the HTTP API answers a Range with 206 and Content-Range, and one past the end with 416', async () => {
    const { local } = await putElsewhere('api-range.bin')
    const bytes = await readFile(local)
    const get = (headers: Record<string, string>) =>
      request(`${cluster.proxy}/v1/files?name=api-range.bin`, {
        dispatcher: agent,
        headers: { authorization: `Bearer ${token}`, ...headers },
      })
    const part = await get({ range: 'bytes=100-199' })
    assert.equal(part.statusCode, 206)
    assert.equal(part.headers['content-range'], `bytes 100-199/${size}`)
    assert.equal(part.headers['content-length'], '100')
    assert.ok(Buffer.from(await part.body.arrayBuffer()).equals(bytes.subarray(100, 200)))

    const outside = await get({ range: `bytes=${size}-` })
    assert.equal(outside.statusCode, 416)
    assert.equal(outside.headers['content-range'], `bytes */${size}`)
    assert.equal(((await outside.body.json()) as { error: { code: string } }).error.code, 'DFS_BAD_RANGE')

    // If-Range naming another version: the whole file.
    const stale = await get({ range: 'bytes=0-9', 'if-range': `"${'0'.repeat(64)}"` })
    assert.equal(stale.statusCode, 200)
    assert.equal(Buffer.from(await stale.body.arrayBuffer()).length, size)
  })

  test('with the directory down, --offline serves a cached file of several blocks, checked', async () => {
    const { local, digest } = await putElsewhere('offline.bin')
    assert.equal((await cluster.run(['get', 'offline.bin', join(cluster.root, 'offline.1')])).code, 0)
    await stopChild(cluster.directory)
    const out = join(cluster.root, 'offline.2')
    const get = await cluster.run(['get', 'offline.bin', out, '--offline'])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(await sha256File(out), digest)
    const part = await cluster.run(['get', '--offline', '--range', '10-19', 'offline.bin', '-'])
    assert.equal(part.code, 0, part.stderr)
    assert.ok(part.stdout.equals((await readFile(local)).subarray(10, 20)))
  })
})
