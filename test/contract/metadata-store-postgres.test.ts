// The PostgreSQL store keeps the MetadataStore contract, each test on a new database of one
// throwaway server.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { DfsError } from '../../src/protocol/errors.ts'
import { PostgresMetadataStore } from '../../src/metadata/postgres-store.ts'
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts'
import { metadataStoreContract } from './metadata-store.ts'

let server: TestPostgres
before(async () => {
  server = await startPostgres()
})
after(async () => {
  await server.stop()
})

metadataStoreContract('PostgreSQL', async () => {
  const store = await PostgresMetadataStore.open(await server.createDatabase())
  return { store, destroy: () => store.close() }
})

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
