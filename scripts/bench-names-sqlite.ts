// The names bench on the embedded store: a SqliteMetadataStore made in the size's temp dir (so it
// creates and migrates its own schema), closed, loaded in one node:sqlite transaction straight into
// that schema, and opened again over what was loaded.

import { stat } from 'node:fs/promises'
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { SqliteMetadataStore } from '../src/metadata/sqlite-store.ts'
import type { NamesBackend } from './bench-names.ts'
import { GROUP, MODE, USER, blobOf, holdersOf, nameOf, sizeOf, versionsOf } from './bench-names-namespace.ts'

export const sqliteBackend: NamesBackend = {
  label: 'SQLite (embedded, node:sqlite)',
  async create(size, work) {
    const path = join(work, 'metadata.sqlite')
    await new SqliteMetadataStore(path).close()
    return {
      where: path,
      load: async (mtime) => load(path, size, mtime),
      open: async () => new SqliteMetadataStore(path),
      diskBytes: () => diskBytes(path),
      // The file goes with the size's temp dir.
      remove: async () => undefined,
    }
  },
}

/** Straight into the store's own tables, in one transaction. */
function load(path: string, size: number, mtime: number): void {
  const db = new DatabaseSync(path)
  try {
    db.exec('PRAGMA synchronous = OFF')
    const version = db.prepare(
      `INSERT INTO versions (name, version, sha256, size, primary_id, holders, writer, mtime, holder_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    const holder = db.prepare('INSERT INTO holders (name, version, server, sha256) VALUES (?, ?, ?, ?)')
    const file = db.prepare('INSERT INTO files (name, version) VALUES (?, ?)')
    const perms = db.prepare('INSERT INTO perms (name, owner, grp, mode) VALUES (?, ?, ?, ?)')
    db.exec('BEGIN')
    for (let i = 0; i < size; i++) {
      const name = nameOf(i)
      const holders = holdersOf(i)
      for (let v = 1; v <= versionsOf(i); v++) {
        const sha256 = blobOf(i, v)
        const json = JSON.stringify(holders)
        version.run(name, v, sha256, sizeOf(i), holders[0]!, json, USER, mtime, holders.length)
        for (const server of holders) holder.run(name, v, server, sha256)
      }
      file.run(name, versionsOf(i))
      perms.run(name, USER, GROUP, MODE)
    }
    // The counts the store keeps with each commit (dfs status reads them), as its migration makes them.
    db.exec(`INSERT OR REPLACE INTO counters (key, value) SELECT 'files', COUNT(*) FROM files`)
    db.exec(`INSERT OR REPLACE INTO counters (key, value)
      SELECT 'bytes', SUM(v.size) FROM files f JOIN versions v ON v.name = f.name AND v.version = f.version`)
    db.exec('COMMIT')
  } finally {
    db.close()
  }
}

async function diskBytes(path: string): Promise<number> {
  let total = 0
  for (const file of [path, `${path}-wal`])
    total += await stat(file).then(
      (s) => s.size,
      () => 0,
    )
  return total
}
