// Two directories on one PostgreSQL serve one cluster (three file servers, a proxy given both URLs).
// Writes and reads go on while one directory is killed with SIGKILL and restarted, then the other;
// every acknowledged write is there at the end with its bytes; a change made through one directory
// reaches a proxy following the other; a lock taken through one holds against the other; and repair
// keeps running on whichever directory is alive.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { TestCluster, BIN } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts'
import pg from 'pg'

describe('two directories on one PostgreSQL', () => {
  let postgres: TestPostgres
  let cluster: TestCluster
  let database: string
  before(async () => {
    postgres = await startPostgres()
    database = await postgres.createDatabase()
    cluster = await TestCluster.start({
      directories: 2,
      fileservers: 3,
      proxies: 2,
      env: { DFS_METADATA: database },
      directoryArgs: ['--repair-every', '1s', '--dead-after', '4s'],
      // Proxy 2 and file server 2 try directory 2 first: each directory has its own followers.
      directoryFlag: (urls, role) => (role.endsWith(' 2') ? urls.split(',').reverse().join(',') : urls),
    })
  })
  after(async () => {
    await cluster?.stop()
    await postgres?.stop()
  })

  async function kill(n: number): Promise<number> {
    const child = cluster.directories[n - 1]!
    const port = Number(new URL(child.url).port)
    child.process.kill('SIGKILL')
    await child.exited
    return port
  }

  /** Puts and reads back `count` names under `prefix`; every one must be acknowledged. */
  async function writeAndRead(
    prefix: string,
    count: number,
    acknowledged: Map<string, string>,
  ): Promise<void> {
    for (let i = 0; i < count; i++) {
      const name = `${prefix}/${i}.txt`
      const body = `${name} written at ${Date.now()}\n`
      const put = await cluster.run(['put', '-', name], { input: body })
      assert.equal(put.code, 0, `put ${name}: ${put.stderr}`)
      acknowledged.set(name, body)
      const get = await cluster.run(['get', name, '-'])
      assert.equal(get.code, 0, `get ${name}: ${get.stderr}`)
      assert.equal(get.stdout.toString(), body)
    }
  }

  test('writes and reads go on while each directory in turn is killed and restarted; none is lost', async () => {
    const acknowledged = new Map<string, string>()
    await writeAndRead('ha/both', 3, acknowledged)
    const port1 = await kill(1)
    await writeAndRead('ha/without-1', 5, acknowledged)
    await cluster.startDirectory(port1, 1)
    await writeAndRead('ha/back-1', 2, acknowledged)
    const port2 = await kill(2)
    await writeAndRead('ha/without-2', 5, acknowledged)
    await cluster.startDirectory(port2, 2)
    await writeAndRead('ha/back-2', 2, acknowledged)

    const ls = await cluster.run(['ls', 'ha/', '--json'])
    assert.equal(ls.code, 0, ls.stderr)
    assert.deepEqual(
      (JSON.parse(ls.stdout.toString()) as { name: string }[]).map((f) => f.name).sort(),
      [...acknowledged.keys()].sort(),
    )
    for (const [name, body] of acknowledged) {
      const get = await cluster.run(['get', name, '-'])
      assert.equal(get.stdout.toString(), body, name)
    }
  })

  test('a change made through one directory reaches a watcher whose proxy follows the other', async () => {
    // Proxy 2 is given the directories the other way round, so each proxy follows a different one.
    const watcher = spawn(process.execPath, [BIN, 'watch', '--json'], {
      env: {
        ...process.env,
        DFS_PROXY: cluster.proxies[1]!.url,
        // This cluster's CA, not that of a dfs up in the default data root (proxy 2 is not the
        // saved login's proxy, so the local data root's CA comes first).
        DFS_DATA: cluster.data,
        DFS_CONFIG_DIR: `${cluster.root}/cli-config`,
        DFS_USER: 'tester',
        DFS_PASSWORD: 'test-password',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const seen: string[] = []
    createInterface({ input: watcher.stdout }).on('line', (line) =>
      seen.push((JSON.parse(line) as { name: string }).name),
    )
    try {
      await eventually('the watch to connect', async () => {
        const put = await cluster.run(['put', '-', 'feed/probe.txt', '--force'], { input: `${Date.now()}\n` })
        assert.equal(put.code, 0, put.stderr)
        return seen.includes('feed/probe.txt')
      })
      const put = await cluster.run(['put', '-', 'feed/through-1.txt'], { input: 'one\n' })
      assert.equal(put.code, 0, put.stderr)
      await eventually('the change through the other directory', async () =>
        seen.includes('feed/through-1.txt'),
      )
    } finally {
      watcher.kill('SIGTERM')
    }
  })

  /**
   * Which directory holds the repair job's lease row (its holder names the process), once a live
   * one does: a directory killed earlier may hold it until it lapses.
   */
  async function repairLeader(): Promise<number> {
    const client = new pg.Client({ connectionString: database })
    await client.connect()
    try {
      return await eventually(
        'a live directory leading repair',
        async () => {
          const { rows } = await client.query<{ holder: string }>(
            "SELECT holder FROM leaders WHERE job = 'repair' AND expires > $1",
            [Date.now()],
          )
          const pid = Number(rows[0]?.holder.split('/')[1])
          const n = cluster.directories.findIndex(
            (d) => d.process.pid === pid && d.process.exitCode === null && d.process.signalCode === null,
          )
          return n >= 0 ? n + 1 : undefined
        },
        60_000,
      )
    } finally {
      await client.end()
    }
  }

  test('repair keeps running when the directory leading it is killed: the other takes over', async () => {
    const put = await cluster.run(['put', '-', 'repair/me.txt'], { input: 'keep two copies\n' })
    assert.equal(put.code, 0, put.stderr)
    const before = await cluster.stat('repair/me.txt')
    const victim = before.holders[0]!
    const leader = await repairLeader()
    const port1 = await kill(leader)
    const fileserver = cluster.fileservers.get(victim)!
    fileserver.process.kill('SIGKILL')
    await fileserver.exited
    try {
      // Past --dead-after, and past the repair lease of a directory that may have led: a new pair.
      await eventually(
        'repair on the directory still alive',
        async () => {
          const now = await cluster.stat('repair/me.txt')
          return now.holders.length === 2 && !now.holders.includes(victim)
        },
        90_000,
      )
      assert.equal(await repairLeader(), 3 - leader)
    } finally {
      await cluster.startDirectory(port1, leader)
      await cluster.startFileServer(victim)
    }
    const get = await cluster.run(['get', 'repair/me.txt', '-'])
    assert.equal(get.stdout.toString(), 'keep two copies\n')
    // Whichever directory a proxy follows, dfs status shows the repair counters the leader saved.
    const repaired = await Promise.all(
      cluster.proxies.map(async (proxy) => {
        const status = await cluster.run(['status', '--json'], { proxy: proxy.url })
        assert.equal(status.code, 0, status.stderr)
        return (JSON.parse(status.stdout.toString()) as { repair: { repaired: number } }).repair.repaired
      }),
    )
    assert.ok(repaired[0]! >= 1, `repairs counted: ${repaired.join(', ')}`)
    assert.equal(repaired[0], repaired[1])
  })
})
