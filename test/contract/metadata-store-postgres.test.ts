// The PostgreSQL store keeps the MetadataStore contract, each test on a new database of one
// throwaway server.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { BLOCK_SIZE } from '../../src/protocol/blocks.ts'
import { DfsError } from '../../src/protocol/errors.ts'
import { PostgresMetadataStore } from '../../src/metadata/postgres-store.ts'
import { eventually } from '../helpers/eventually.ts'
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts'
import { collectionsContract } from './metadata-store-collections.ts'
import { metadataStoreContract, type StoreUnderTest } from './metadata-store.ts'

let server: TestPostgres
before(async () => {
  server = await startPostgres()
})
after(async () => {
  await server.stop()
})

async function open(): Promise<StoreUnderTest> {
  const store = await PostgresMetadataStore.open(await server.createDatabase())
  return { store, destroy: () => store.close() }
}

metadataStoreContract('PostgreSQL', open)
collectionsContract('PostgreSQL', open)

describe('PostgreSQL store: two directories on one database', () => {
  test('both start at once on a new database: the schema is made once, and a commit race across them has one winner', async () => {
    const url = await server.createDatabase()
    const [a, b] = await Promise.all([PostgresMetadataStore.open(url), PostgresMetadataStore.open(url)])
    try {
      const request = (writer: string) => ({
        name: 'shared',
        expectedVersion: 0,
        sha256: writer.repeat(64).slice(0, 64),
        size: 1,
        primary: 1,
        holders: [1, 2],
        writer,
        perms: { owner: writer, group: 'users', mode: 0o664 },
      })
      const results = await Promise.allSettled([a.commit(request('a'), 1), b.commit(request('b'), 1)])
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
      assert.equal((await a.getFile('shared'))?.sha256, (await b.getFile('shared'))?.sha256)
      // What one wrote, the other reads at once.
      await a.createUser({ name: 'carol', passwordHash: 'x', created: 1, admin: false })
      assert.equal((await b.getUser('carol'))?.name, 'carol')
    } finally {
      await a.close()
      await b.close()
    }
  })

  test('a database that cannot be reached is DFS_UNAVAILABLE, without the password', async () => {
    const url = server.url().replace(/:\d+\//, ':1/')
    await assert.rejects(PostgresMetadataStore.open(url), (error: unknown) => {
      assert.ok(error instanceof DfsError)
      assert.equal(error.code, 'DFS_UNAVAILABLE')
      assert.match(
        error.message,
        /metadata database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/postgres/,
      )
      assert.ok(!error.message.includes(new URL(server.url()).password))
      return true
    })
  })
})

describe('PostgreSQL store: a database from before block lists', () => {
  test('gains them: its versions have none, new versions keep theirs', async () => {
    const url = await server.createDatabase()
    const perms = { owner: 'alice', group: 'users', mode: 0o664 }
    const commit = { sha256: 'a'.repeat(64), primary: 1, holders: [1, 2], writer: 'alice', perms }
    const before = await PostgresMetadataStore.open(url)
    await before.commit({ ...commit, name: 'old.bin', expectedVersion: 0, size: 3 * BLOCK_SIZE }, 10)
    await before.close()
    // As a database of schema 5 was: no blocks column.
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query('ALTER TABLE versions DROP COLUMN blocks; UPDATE dfs_schema SET version = 5')
    await client.end()
    const store = await PostgresMetadataStore.open(url)
    try {
      assert.equal(await store.blockList('old.bin', 1), undefined)
      const blocks = Buffer.alloc(3 * 32, 7).toString('base64')
      await store.commit({ ...commit, name: 'old.bin', expectedVersion: 1, size: 3 * BLOCK_SIZE, blocks }, 20)
      assert.equal(await store.blockList('old.bin', 2), blocks)
    } finally {
      await store.close()
    }
  })
})

describe('PostgreSQL store: a database from before hashes in byte order', () => {
  test("its holders' hashes take the C collation, whatever the locale, and keep their rows", async () => {
    const url = await server.createDatabase()
    const perms = { owner: 'alice', group: 'users', mode: 0o664 }
    const before = await PostgresMetadataStore.open(url)
    for (const blob of ['f', '0'])
      await before.commit(
        {
          name: blob,
          expectedVersion: 0,
          sha256: blob.repeat(64),
          size: 1,
          primary: 1,
          holders: [1],
          writer: 'alice',
          perms,
        },
        10,
      )
    await before.close()
    // As a database of schema 6 was: the hashes in the database's default collation.
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    const collation = async () =>
      (
        await client.query<{ collation_name: string | null }>(
          `SELECT collation_name FROM information_schema.columns WHERE table_name = 'holders' AND column_name = 'sha256'`,
        )
      ).rows[0]?.collation_name
    try {
      await client.query('ALTER TABLE holders ALTER COLUMN sha256 TYPE TEXT COLLATE "default"')
      await client.query('UPDATE dfs_schema SET version = 6')
      assert.equal(await collation(), null)
      const store = await PostgresMetadataStore.open(url)
      try {
        assert.equal(await collation(), 'C')
        assert.deepEqual(await store.blobsHeldIn(1, {}, 10), ['0'.repeat(64), 'f'.repeat(64)])
      } finally {
        await store.close()
      }
    } finally {
      await client.end()
    }
  })
})

describe('PostgreSQL store: the database restarted', () => {
  test('notices are heard again once it is back: polled meanwhile, then LISTEN again', async () => {
    const url = await server.createDatabase()
    const [a, b] = [await PostgresMetadataStore.open(url), await PostgresMetadataStore.open(url)]
    const heard: string[] = []
    const unsubscribe = b.subscribe((notice) => heard.push(notice.kind))
    try {
      await server.kill()
      await server.restart()
      // While the listening connection is gone, the store polls: 'missed' every second.
      await eventually('a poll while not listening', async () => heard.includes('missed'))
      await eventually('a change heard through LISTEN again', async () => {
        heard.length = 0
        await a.commit(
          {
            name: `after-restart-${Date.now()}`,
            expectedVersion: 0,
            sha256: 'e'.repeat(64),
            size: 1,
            primary: 1,
            holders: [1, 2],
            writer: 'alice',
            perms: { owner: 'alice', group: 'users', mode: 0o664 },
          },
          1,
        )
        await new Promise((resolve) => setTimeout(resolve, 200))
        return heard.includes('changes')
      })
    } finally {
      unsubscribe()
      await a.close()
      await b.close()
    }
  })
})
