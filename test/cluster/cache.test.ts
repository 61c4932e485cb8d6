// The proxy's cache and read path end to end: reads validated by hash at the directory, served
// without file servers (and checked block by block as they are), offline reads, change notifications, corruption in the cache and on a
// replica, and the cache's bound.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir, stat as fsStat } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { stopChild } from '../../src/cli/children.ts'
import type { Located } from '../../src/protocol/types.ts'
import { BIN, TestCluster } from '../helpers/cluster.ts'
import { flipByte, randomFile, sha256, sha256File } from '../helpers/files.ts'

const MiB = 1024 * 1024

/** Flips one byte in the middle of a file, in place. */
async function corrupt(path: string): Promise<void> {
  await flipByte(path, Math.floor((await fsStat(path)).size / 2))
}

async function sizeOfTree(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && !entry.name.startsWith('index.sqlite')) {
      total += (await fsStat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size
    }
  }
  return total
}

describe('the proxy cache', () => {
  let cluster: TestCluster

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3, proxies: 2, proxyArgs: ['--cache-size', '3MiB'] })
  })
  after(async () => {
    await cluster?.stop()
  })

  const stat = (name: string): Promise<Located> => cluster.stat(name)
  const cacheBlob = (proxy: number, sha: string) =>
    join(cluster.data, `proxy-${proxy}`, 'cache', 'blobs', 'objects', sha.slice(0, 2), sha)

  test('proxy 1 caches; proxy 2 writes a new version; proxy 1 serves the new bytes, and watch saw it', async () => {
    assert.equal((await cluster.run(['put', '-', 'doc.txt'], { input: 'first\n' })).code, 0)
    assert.equal((await cluster.run(['get', 'doc.txt', '-'])).stdout.toString(), 'first\n')

    const env = {
      ...process.env,
      DFS_PROXY: cluster.proxy,
      DFS_DATA: cluster.data,
      DFS_CONFIG_DIR: join(cluster.root, 'cli-config'),
    }
    const watcher = spawn(process.execPath, [BIN, 'watch', '--json'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const seen: { type: string; name: string; version: number }[] = []
    const lines = createInterface({ input: watcher.stdout })
    lines.on('line', (line) => seen.push(JSON.parse(line) as (typeof seen)[number]))
    try {
      await sleep(1500) // the watch connects
      const second = cluster.proxies[1]!.url
      const write = await cluster.run(['write', 'doc.txt'], { input: 'second\n', proxy: second })
      assert.equal(write.code, 0, write.stderr)
      assert.equal((await cluster.run(['get', 'doc.txt', '-'])).stdout.toString(), 'second\n')
      const deadline = Date.now() + 10_000
      while (!seen.some((e) => e.name === 'doc.txt' && e.version === 2) && Date.now() < deadline)
        await sleep(50)
      assert.ok(
        seen.some((e) => e.type === 'put' && e.name === 'doc.txt' && e.version === 2),
        JSON.stringify(seen),
      )
    } finally {
      watcher.kill('SIGTERM')
    }
  })

  test('a cached blob corrupted on disk is detected, dropped and fetched again (streamed, and read whole when small)', async () => {
    for (const [name, size] of [
      ['c.bin', MiB],
      ['c-small.bin', 4096],
    ] as const) {
      const local = join(cluster.root, name)
      const digest = await randomFile(local, size)
      assert.equal((await cluster.run(['put', local, name])).code, 0)
      await corrupt(cacheBlob(1, digest))
      const out = join(cluster.root, `${name}.out`)
      const get = await cluster.run(['get', name, out])
      assert.equal(get.code, 0, get.stderr)
      assert.equal(await sha256File(out), digest, name)
      // The bad copy was dropped as it was read; the next read fetches the blob into the cache again.
      assert.equal((await cluster.run(['get', name, '-'])).code, 0)
      assert.equal(
        await sha256File(cacheBlob(1, digest)),
        digest,
        `the cache holds the right bytes of ${name} again`,
      )
      const again = await cluster.run(['get', name, '-'])
      assert.equal(sha256(again.stdout), digest, `${name} from the cache`)
    }
    const status = JSON.parse((await cluster.run(['status', '--json'])).stdout.toString()) as {
      proxy: { cache: { corrupt: number } }
    }
    assert.ok(status.proxy.cache.corrupt >= 2)
  })

  test('a blob corrupted on the replica is detected, served from the other holder, and reported', async () => {
    const local = join(cluster.root, 'r.bin')
    const digest = await randomFile(local, MiB)
    // Through proxy 2, so proxy 1 has no copy and must fetch.
    assert.equal((await cluster.run(['put', local, 'r.bin'], { proxy: cluster.proxies[1]!.url })).code, 0)
    const file = await stat('r.bin')
    for (const id of file.holders.filter((h) => h !== file.primary)) {
      await corrupt(join(cluster.data, `fileserver-${id}`, 'objects', digest.slice(0, 2), digest))
    }
    const out = join(cluster.root, 'r.out')
    const get = await cluster.run(['get', 'r.bin', out])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(await sha256File(out), digest)
    const status = JSON.parse((await cluster.run(['status', '--json'])).stdout.toString()) as {
      reports: { server: number; sha256: string }[]
    }
    const replica = file.holders.find((h) => h !== file.primary)
    assert.ok(
      status.reports.some((r) => r.server === replica && r.sha256 === digest),
      JSON.stringify(status.reports),
    )
  })

  test('the cache never grows past its bound while three times its size is read', async () => {
    const cacheDir = join(cluster.data, 'proxy-1', 'cache')
    let largest = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        largest = Math.max(largest, await sizeOfTree(cacheDir))
        await sleep(10)
      }
    })()
    try {
      for (let i = 0; i < 9; i++) {
        const local = join(cluster.root, `bound-${i}`)
        const digest = await randomFile(local, MiB)
        assert.equal(
          (await cluster.run(['put', local, `bound/${i}`], { proxy: cluster.proxies[1]!.url })).code,
          0,
        )
        const out = join(cluster.root, `bound-${i}.out`)
        assert.equal((await cluster.run(['get', `bound/${i}`, out])).code, 0)
        assert.equal(await sha256File(out), digest)
      }
    } finally {
      sampling = false
      await sampler
    }
    assert.ok(largest > 0 && largest <= 3 * MiB, `cache reached ${largest} bytes`)
    const status = JSON.parse((await cluster.run(['status', '--json'])).stdout.toString()) as {
      proxy: { cache: { evictions: number; bytes: number } }
    }
    assert.ok(status.proxy.cache.evictions >= 6)
    assert.ok(status.proxy.cache.bytes <= 3 * MiB)
  })

  test('with every file server stopped a cached file still reads; with the directory gone too, only --offline', async () => {
    assert.equal((await cluster.run(['put', '-', 'kept.txt'], { input: 'kept\n' })).code, 0)
    assert.equal((await cluster.run(['get', 'kept.txt', '-'])).stdout.toString(), 'kept\n')
    await Promise.all([...cluster.fileservers.values()].map((c) => stopChild(c)))
    const cached = await cluster.run(['get', 'kept.txt', '-'])
    assert.equal(cached.code, 0, cached.stderr)
    assert.equal(cached.stdout.toString(), 'kept\n')

    await stopChild(cluster.directory)
    const down = await cluster.run(['get', 'kept.txt', '-'])
    assert.equal(down.code, 1)
    assert.match(down.stderr, /^dfs: DFS_UNAVAILABLE: /)
    const offline = await cluster.run(['get', 'kept.txt', '-', '--offline'])
    assert.equal(offline.code, 0, offline.stderr)
    assert.equal(offline.stdout.toString(), 'kept\n')
    assert.match(offline.stderr, /may be stale/)
  })
})
