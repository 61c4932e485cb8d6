// Disk full: file servers on small tmpfs mounts. Placement refuses a file that fits nowhere; a write
// that runs out of space mid-stream fails with DFS_NO_SPACE and leaves nothing half-written.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { stopChild } from '../../src/cli/children.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { randomFile } from '../helpers/files.ts'

const MiB = 1024 * 1024

describe('a full disk', () => {
  let cluster: TestCluster
  const mounts: string[] = []

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2 })
    // Each file server moves onto its own 8 MiB tmpfs (these tests run as root, as CI does).
    for (const [id, child] of cluster.fileservers) {
      await stopChild(child)
      const dir = join(cluster.data, `fileserver-${id}`)
      await mkdir(dir, { recursive: true })
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir])
      mounts.push(dir)
      await cluster.startFileServer(id)
    }
    await cluster.waitForLiveServers(2)
  })
  after(async () => {
    await cluster?.stopProcesses()
    for (const dir of mounts) execFileSync('umount', ['-l', dir])
    await cluster?.stop()
  })

  test('a file too big for every server is refused before any byte moves', async () => {
    const local = join(cluster.root, 'big')
    await randomFile(local, 20 * MiB)
    const put = await cluster.run(['put', local, 'big.bin'])
    assert.equal(put.code, 1)
    assert.match(put.stderr, /^dfs: DFS_NO_SPACE: /)
  })

  test('a stream that runs out of space fails with DFS_NO_SPACE; the old version stays whole', async () => {
    assert.equal((await cluster.run(['put', '-', 'kept.txt'], { input: 'old\n' })).code, 0)
    const put = await cluster.run(['put', '-', 'stream.bin'], { input: Buffer.alloc(20 * MiB, 7) })
    assert.equal(put.code, 1)
    assert.match(put.stderr, /^dfs: DFS_NO_SPACE: /)
    const gone = await cluster.run(['stat', 'stream.bin'])
    assert.match(gone.stderr, /DFS_NOT_FOUND/)
    const write = await cluster.run(['write', 'kept.txt'], { input: Buffer.alloc(20 * MiB, 9) })
    assert.equal(write.code, 1)
    assert.match(write.stderr, /^dfs: DFS_NO_SPACE: /)
    assert.equal((await cluster.run(['get', 'kept.txt', '-'])).stdout.toString(), 'old\n')
    for (const id of cluster.fileservers.keys()) {
      assert.deepEqual(
        await readdir(join(cluster.data, `fileserver-${id}`, 'tmp')),
        [],
        `tmp/ on server ${id}`,
      )
    }
    // Space came back: a small write goes through.
    const small = await cluster.run(['put', '-', 'small.txt'], { input: 'fits\n' })
    assert.equal(small.code, 0, small.stderr)
  })

  test('the room a failed write frees is placed at once, though a heartbeat saw the disk full', async () => {
    const next = join(cluster.root, 'next')
    await randomFile(next, 1.5 * MiB)
    // 7 of the 8 MiB arrive, then nothing until the directory has heard from both servers that they
    // have less left than the next file needs; then more than fits.
    const free = async () => {
      const status = await cluster.run(['status', '--json'])
      const parsed = JSON.parse(status.stdout.toString()) as { servers: { freeBytes: number }[] }
      return Math.max(...parsed.servers.map((s) => s.freeBytes))
    }
    let heardFull = false
    async function* slowly() {
      yield Buffer.alloc(7 * MiB, 3)
      for (let i = 0; i < 100 && !heardFull; i++) {
        await sleep(100)
        heardFull = (await free()) < 1.5 * MiB
      }
      yield Buffer.alloc(20 * MiB, 3)
    }
    const failed = await cluster.run(['put', '-', 'slow.bin'], { input: Readable.from(slowly()) })
    assert.ok(heardFull, 'the directory heard of the nearly full disks')
    assert.equal(failed.code, 1)
    assert.match(failed.stderr, /^dfs: DFS_NO_SPACE: /)
    // At once, before any heartbeat on the clock: the failed write's servers reported its room.
    const put = await cluster.run(['put', next, 'next.bin'])
    assert.equal(put.code, 0, put.stderr)
  })
})
