// The durability promise: a write is acknowledged on R copies, or the cluster says exactly how it is
// short (--min-copies); placement routes around a server that just died; a write that loses its
// replica mid-way completes on R servers anyway.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir, readFile, stat as statFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ProxyStatus } from '../../src/client/proxy-client.ts'
import type { CommittedVersion } from '../../src/protocol/types.ts'
import type { RepairTask } from '../../src/roles/directory/repairer.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'
import { randomFile, sha256File } from '../helpers/files.ts'

const MiB = 1024 * 1024

async function kill(cluster: TestCluster, id: number): Promise<void> {
  const child = cluster.fileservers.get(id)!
  child.process.kill('SIGKILL')
  await child.exited
}

async function status(cluster: TestCluster): Promise<ProxyStatus> {
  const result = await cluster.run(['status', '--json'])
  assert.equal(result.code, 0, result.stderr)
  return JSON.parse(result.stdout.toString()) as ProxyStatus
}

describe('one of two file servers down, at the default --min-copies (R)', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2 })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('a put is refused with DFS_UNAVAILABLE naming how many servers are live; nothing is stored', async () => {
    await kill(cluster, 2)
    // Still inside the live window: the first try finds the dead server itself, the second is told.
    for (const name of ['first.txt', 'second.txt']) {
      const put = await cluster.run(['put', '-', name], { input: 'one copy is not enough\n' })
      assert.equal(put.code, 1, put.stderr)
      assert.match(
        put.stderr,
        /^dfs: DFS_UNAVAILABLE: .*1 of 2 file servers (is )?live and reachable.*a write needs 2/,
      )
      assert.match((await cluster.run(['stat', name])).stderr, /DFS_NOT_FOUND/)
    }
  })
})

describe('one of two file servers down, with --min-copies 1', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await TestCluster.start({
      fileservers: 2,
      directoryArgs: ['--min-copies', '1', '--repair-every', '1h'],
    })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('a put is stored short with a warning, counted and planned, and repaired once a server is back', async () => {
    await kill(cluster, 2)
    const put = await cluster.run(['put', '-', 'short.txt', '--json'], { input: 'kept anyway\n' })
    assert.equal(put.code, 0, put.stderr)
    assert.match(put.stderr, /dfs: warning: short.txt is on 1 of 2 file servers/)
    const version = JSON.parse(put.stdout.toString()) as CommittedVersion
    assert.deepEqual(version.holders, [1])
    assert.equal(version.wanted, 2)

    const short = await status(cluster)
    assert.equal(short.repair.underReplicated, 1)
    assert.equal(short.minCopies, 1)
    const plan = await cluster.run(['repair', '--dry-run', '--json'])
    const tasks = (JSON.parse(plan.stdout.toString()) as { plan: RepairTask[] }).plan
    assert.deepEqual(
      tasks.map((t) => [t.name, t.copies, t.target]),
      [['short.txt', [1], undefined]],
    )
    assert.match(tasks[0]!.waiting ?? '', /no other live file server/)
    const human = await cluster.run(['repair', '--dry-run'])
    assert.match(human.stdout.toString(), /short.txt v1 .*1 copy; waiting: /)

    // Not after --dead-after (10 minutes here): the copy is on no server, so it is made as soon as one
    // can take it, without waiting for the next pass (--repair-every 1h).
    await cluster.startFileServer(2)
    await eventually(
      'short.txt to get its second copy',
      async () => (await cluster.stat('short.txt')).holders.length === 2,
    )
    const file = await cluster.stat('short.txt')
    assert.equal(await sha256File(cluster.blobPath(2, file.sha256)), file.sha256)
    assert.equal((await status(cluster)).repair.underReplicated, 0)
  })
})

describe('the seconds after a file server dies', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3 })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('puts succeed on the servers that are up, and the directory stops placing on the dead one', async () => {
    const started = Date.now()
    await kill(cluster, 3)
    for (let i = 0; i < 6; i++) {
      const put = await cluster.run(['put', '-', `after-kill-${i}.txt`], { input: `file ${i}\n` })
      assert.equal(put.code, 0, put.stderr)
      assert.doesNotMatch(put.stderr, /warning/)
      assert.deepEqual((await cluster.stat(`after-kill-${i}.txt`)).holders.toSorted(), [1, 2])
    }
    // Told by whoever could not connect, well before its heartbeat would have aged out (15 s).
    const dead = (await status(cluster)).servers.find((s) => s.id === 3)
    assert.equal(dead?.live, false)
    assert.equal(dead?.unreachable, true)
    assert.ok(Date.now() - started < 15_000, 'this ran inside the live window')
  })
})

describe('a replica killed mid-upload of 200 MiB', () => {
  let cluster: TestCluster
  before(async () => {
    // debug: every request is logged as it starts, so the test can tell which server is the replica.
    cluster = await TestCluster.start({ fileservers: 3, logLevel: 'debug' })
  })
  after(async () => {
    await cluster?.stop()
  })

  const replicaOfUpload = async (): Promise<number | undefined> => {
    for (const id of cluster.fileservers.keys()) {
      const log = await readFile(join(cluster.root, `fileserver-${id}.log`), 'utf8').catch(() => '')
      if (log.includes('/v1/replica')) return id
    }
    return undefined
  }
  const tmpBytes = async (id: number): Promise<number> => {
    const dir = join(cluster.data, `fileserver-${id}`, 'tmp')
    let total = 0
    for (const entry of await readdir(dir).catch(() => [])) {
      total += (await statFile(join(dir, entry)).catch(() => ({ size: 0 }))).size
    }
    return total
  }

  test('the primary replaces it, and the write completes on R servers with verified copies', async () => {
    const local = join(cluster.root, 'big.bin')
    const digest = await randomFile(local, 200 * MiB)
    const upload = cluster.run(['put', local, 'big.bin', '--json'])

    let replica: number | undefined
    await eventually('the replica to be under way', async () => {
      replica ??= await replicaOfUpload()
      return replica !== undefined && (await tmpBytes(replica)) > 20 * MiB
    })
    await kill(cluster, replica!)

    const put = await upload
    assert.equal(put.code, 0, put.stderr)
    const version = JSON.parse(put.stdout.toString()) as CommittedVersion
    assert.equal(version.sha256, digest)
    assert.equal(version.holders.length, 2)
    assert.ok(!version.holders.includes(replica!), 'the killed replica is not counted')
    for (const id of version.holders) {
      assert.ok(existsSync(cluster.blobPath(id, digest)))
      assert.equal(await sha256File(cluster.blobPath(id, digest)), digest, `copy on ${id}`)
    }
    const primaryLog = await readFile(join(cluster.root, `fileserver-${version.primary}.log`), 'utf8')
    assert.match(primaryLog, new RegExp(`replica ${replica} failed during a write`))
    const got = await cluster.run(['get', 'big.bin', join(cluster.root, 'big.out'), '--json'])
    assert.equal(got.code, 0, got.stderr)
    assert.equal(await sha256File(join(cluster.root, 'big.out')), digest)
  })
})
