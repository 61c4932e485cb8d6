// A cluster whose directory keeps its metadata on PostgreSQL (--metadata, here through DFS_METADATA):
// files, owners, locks and history live in the database, not in the data root, and survive the
// directory's kill -9; a database that goes away makes calls fail with DFS_UNAVAILABLE, and they
// work again once it is back.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts'

describe('a directory on PostgreSQL', () => {
  let postgres: TestPostgres
  let cluster: TestCluster
  before(async () => {
    postgres = await startPostgres()
    const url = await postgres.createDatabase()
    cluster = await TestCluster.start({ fileservers: 3, env: { DFS_METADATA: url } })
  })
  after(async () => {
    await cluster?.stop()
    await postgres?.stop()
  })

  test('put, get, ls, chmod and history work, and nothing is kept in an embedded store', async () => {
    for (let i = 0; i < 5; i++) {
      const put = await cluster.run(['put', '-', `pg/file${i}.txt`], { input: `version one of ${i}\n` })
      assert.equal(put.code, 0, put.stderr)
    }
    const again = await cluster.run(['put', '-', 'pg/file0.txt', '--force'], { input: 'version two\n' })
    assert.equal(again.code, 0, again.stderr)
    const get = await cluster.run(['get', 'pg/file0.txt', '-'])
    assert.equal(get.stdout.toString(), 'version two\n')
    const log = await cluster.run(['log', 'pg/file0.txt', '--json'])
    assert.equal((JSON.parse(log.stdout.toString()) as unknown[]).length, 2)
    assert.equal((await cluster.run(['chmod', '600', 'pg/file1.txt'])).code, 0)
    const ls = await cluster.run(['ls', 'pg/', '-l'])
    assert.match(ls.stdout.toString(), /rw------- +tester +users .*pg\/file1\.txt/)
    assert.equal(existsSync(join(cluster.data, 'directory', 'metadata.sqlite')), false)
  })

  test('the directory killed with SIGKILL and restarted finds every name, owner and version in the database', async () => {
    const port = new URL(cluster.directory.url).port
    cluster.directory.process.kill('SIGKILL')
    await cluster.directory.exited
    await cluster.startDirectory(Number(port))
    await cluster.waitForLiveServers(3)
    const ls = await cluster.run(['ls', 'pg/', '--json'])
    assert.equal(ls.code, 0, ls.stderr)
    assert.deepEqual(
      (JSON.parse(ls.stdout.toString()) as { name: string }[]).map((f) => f.name),
      [0, 1, 2, 3, 4].map((i) => `pg/file${i}.txt`),
    )
    // Owners and modes outlived the directory: bob may not read tester's private file.
    const read = await cluster.run(['get', 'pg/file1.txt', '-'], { env: cluster.as('bob') })
    assert.equal(read.code, 1)
    assert.match(read.stderr, /DFS_FORBIDDEN/)
    const log = await cluster.run(['log', 'pg/file0.txt', '--json'])
    assert.equal((JSON.parse(log.stdout.toString()) as unknown[]).length, 2)
  })

  test('while the database is down calls fail with DFS_UNAVAILABLE; once it is back they work', async () => {
    await postgres.kill()
    try {
      const put = await cluster.run(['put', '-', 'pg/while-down.txt'], { input: 'x\n' })
      assert.equal(put.code, 1)
      assert.match(put.stderr, /^dfs: DFS_UNAVAILABLE: .*the metadata database is unreachable/m)
      assert.doesNotMatch(put.stderr, /postgres:\/\/|127\.0\.0\.1/)
    } finally {
      await postgres.restart()
    }
    await eventually('a put once the database is back', async () => {
      const put = await cluster.run(['put', '-', 'pg/after.txt'], { input: 'back\n' })
      return put.code === 0
    })
    const get = await cluster.run(['get', 'pg/after.txt', '-'])
    assert.equal(get.stdout.toString(), 'back\n')
  })
})
