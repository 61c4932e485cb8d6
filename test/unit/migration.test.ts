// A metadata store made before permissions (no owners, no admin flag, sessions and leases without
// their new columns) opens, and its names belong to their last writer; one made before block lists
// gains the column.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { DatabaseSync } from 'node:sqlite'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteMetadataStore } from '../../src/metadata/sqlite-store.ts'
import { BLOCK_SIZE } from '../../src/protocol/blocks.ts'
import { DEFAULT_DIRECTORY_CONFIG, DirectoryService } from '../../src/roles/directory/service.ts'
import { systemClock, systemRandom } from '../../src/server/clock.ts'

test('an old store migrates: names go to their last writer, the first user becomes admin, holders are indexed and counted, names and bytes counted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dfs-migrate-'))
  const path = join(dir, 'metadata.sqlite')
  const old = new DatabaseSync(path)
  old.exec(`
    CREATE TABLE versions (name TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
      primary_id INTEGER NOT NULL, holders TEXT NOT NULL, writer TEXT NOT NULL, mtime INTEGER NOT NULL,
      PRIMARY KEY (name, version));
    CREATE TABLE files (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
    CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created INTEGER NOT NULL);
    CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user TEXT NOT NULL, expires INTEGER NOT NULL);
    CREATE TABLE leases (name TEXT PRIMARY KEY, token INTEGER NOT NULL, user TEXT NOT NULL, proxy INTEGER NOT NULL,
      since INTEGER NOT NULL, expires INTEGER NOT NULL);
    INSERT INTO users VALUES ('root', 'x', 1), ('alice', 'y', 2);
    INSERT INTO versions VALUES ('a.txt', 1, '${'a'.repeat(64)}', 1, 1, '[1,2]', 'root', 10);
    INSERT INTO versions VALUES ('a.txt', 2, '${'b'.repeat(64)}', 1, 1, '[1,2]', 'alice', 20);
    INSERT INTO files VALUES ('a.txt', 2);
    INSERT INTO versions VALUES ('gone.txt', 1, '${'c'.repeat(64)}', 1, 1, '[1,2]', 'root', 30);
  `)
  old.close()
  const store = new SqliteMetadataStore(path)
  try {
    const service = new DirectoryService(
      store,
      { ...DEFAULT_DIRECTORY_CONFIG, defaultMode: 0o640 },
      systemClock,
      systemRandom,
    )
    assert.equal(await service.access.migrate(), 2)
    assert.deepEqual(await store.getPerms('a.txt'), { owner: 'alice', group: 'users', mode: 0o640 })
    assert.deepEqual(
      await store.getPerms('gone.txt'),
      { owner: 'root', group: 'users', mode: 0o640 },
      'removed names too',
    )
    assert.equal(await service.access.migrate(), 0, 'once')
    const users = await store.listUsers()
    assert.deepEqual(
      users.map((u) => [u.name, u.admin]),
      [
        ['alice', false],
        ['root', true],
      ],
    )
    const file = await store.getFile('a.txt')
    assert.deepEqual([file?.owner, file?.group, file?.mode], ['alice', 'users', 0o640])
    // The holders index is built from the lists kept with each version.
    const held = await store.versionsHeldBy(2, undefined, 10)
    assert.deepEqual(
      held.map((v) => `${v.name}@${v.version}`),
      ['a.txt@1', 'a.txt@2', 'gone.txt@1'],
    )
    assert.deepEqual(await store.unreferenced(1, ['a'.repeat(64), 'd'.repeat(64)]), ['d'.repeat(64)])
    // And each version's holder count, which repair's candidates are found by.
    assert.deepEqual(
      await store.underReplicated(2, [], undefined, 10),
      [],
      'two copies each: none short of 2',
    )
    assert.deepEqual(
      (await store.underReplicated(3, [], undefined, 10)).map((v) => `${v.name}@${v.version}`),
      ['a.txt@1', 'a.txt@2', 'gone.txt@1'],
    )
    // The counts `dfs status` shows, counted once from the current names (gone.txt is not one).
    assert.deepEqual(await store.countFiles(), { files: 1, bytes: 1 })
    // And what each server holds, counted once and kept from then on.
    assert.deepEqual(
      [...(await store.heldCounts())],
      [
        [1, 3],
        [2, 3],
      ],
    )
    await store.setHolders('gone.txt', 1, [2])
    assert.deepEqual(
      [...(await store.heldCounts())],
      [
        [1, 2],
        [2, 3],
      ],
    )
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a store from before block lists gains them: its versions have none, new versions keep theirs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dfs-migrate-'))
  const path = join(dir, 'metadata.sqlite')
  const perms = { owner: 'alice', group: 'users', mode: 0o664 }
  const commit = { sha256: 'a'.repeat(64), primary: 1, holders: [1, 2], writer: 'alice', perms }
  const before = new SqliteMetadataStore(path)
  await before.commit({ ...commit, name: 'old.bin', expectedVersion: 0, size: 3 * BLOCK_SIZE }, 10)
  await before.close()
  // As a store of schema 4 was: no blocks column.
  const old = new DatabaseSync(path)
  old.exec('ALTER TABLE versions DROP COLUMN blocks; PRAGMA user_version = 4;')
  old.close()
  const store = new SqliteMetadataStore(path)
  try {
    assert.equal(await store.blockList('old.bin', 1), undefined)
    const blocks = Buffer.alloc(3 * 32, 7).toString('base64')
    await store.commit({ ...commit, name: 'old.bin', expectedVersion: 1, size: 3 * BLOCK_SIZE, blocks }, 20)
    assert.equal(await store.blockList('old.bin', 2), blocks)
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a store from before folders and dead properties gains them, its names listed as before', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dfs-migrate-'))
  const path = join(dir, 'metadata.sqlite')
  const perms = { owner: 'alice', group: 'users', mode: 0o664 }
  const commit = { sha256: 'a'.repeat(64), size: 1, primary: 1, holders: [1, 2], writer: 'alice', perms }
  const before = new SqliteMetadataStore(path)
  await before.commit({ ...commit, name: 'd/old', expectedVersion: 0 }, 10)
  await before.close()
  // As a store of schema 5 was: neither table.
  const old = new DatabaseSync(path)
  old.exec('DROP TABLE folders; DROP TABLE props; PRAGMA user_version = 5;')
  old.close()
  const store = new SqliteMetadataStore(path)
  try {
    assert.equal(await store.makeFolder('d/new/'), true)
    assert.deepEqual(await store.changeProps('d/old', { '{}k': 'v' }, []), { '{}k': 'v' })
    const entries = await store.listChildren('d/', 10)
    assert.deepEqual(
      entries.map((e) => (e.kind === 'file' ? e.file.name : e.prefix)),
      ['d/new/', 'd/old'],
    )
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})
