// The names bench on PostgreSQL (BENCH_METADATA=postgres): a throwaway server started as the tests
// start theirs (test/helpers/postgres.ts: initdb in a temp dir, the server's default settings), and
// per size a fresh database in which PostgresMetadataStore makes its own schema. The namespace is
// loaded straight into that schema by INSERT ... SELECT over generate_series, in one transaction:
// the SQL below says what bench-names-namespace.ts says in TypeScript. The secondary indexes are
// dropped for the load and made again from their own definitions (pg_indexes), one sort each rather
// than a random insertion per row; the schema after the load is the one the store made.

import pg from 'pg'
import { PostgresMetadataStore } from '../src/metadata/postgres-store.ts'
import { startPostgres } from '../test/helpers/postgres.ts'
import type { NamesBackend } from './bench-names.ts'
import { GROUP, MODE, NAMES_PER_DIR, SERVERS, USER } from './bench-names-namespace.ts'

/** The tables loaded; the store's others (users, servers, leases...) start empty, as in SQLite mode. */
const LOADED = ['versions', 'holders', 'files', 'perms']

// Name i of the generator, for i from generate_series. lpad cuts what is longer than its width,
// so the width grows with the number (beyond 10M names, directories have 5 digits).
const pad = (sql: string, width: number) =>
  `lpad((${sql})::text, greatest(${width}, length((${sql})::text)), '0')`
const NAME = `'d' || ${pad(`i / ${NAMES_PER_DIR}`, 4)} || '/f' || ${pad(`i % ${NAMES_PER_DIR}`, 3)}`
const NAMES = `generate_series(0, $1::INTEGER - 1) AS i`
const VERSIONS = `CASE WHEN i % 10 = 0 THEN 3 ELSE 1 END`
// holdersOf(i): SERVERS[i % 3], SERVERS[(i + 1) % 3], with SERVERS = [1, 2, 3].
const FIRST = `(i % 3 + 1)`
const SECOND = `((i + 1) % 3 + 1)`

export async function postgresBackend(onCleanup: (fn: () => Promise<void>) => void): Promise<NamesBackend> {
  if (SERVERS.join() !== '1,2,3') throw new Error('the SQL below holds names on servers 1, 2 and 3')
  const server = await startPostgres()
  onCleanup(() => server.stop())
  const version = await withClient(server.url(), async (client) => {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
    return rows[0]?.server_version ?? 'unknown'
  })
  return {
    label: `PostgreSQL ${version} (throwaway server, default settings)`,
    async create(size) {
      const url = await server.createDatabase()
      const database = new URL(url).pathname.slice(1)
      // The store makes its schema (and migrates it) before anything is loaded into it.
      await (await PostgresMetadataStore.open(url)).close()
      return {
        where: `database ${database}`,
        load: (mtime) => withClient(url, (client) => load(client, size, mtime)),
        afterLoad: {
          what: 'VACUUM ANALYZE after the load',
          // As autovacuum would soon, but now rather than during the measurements.
          run: () => withClient(url, (client) => client.query(`VACUUM (ANALYZE) ${LOADED.join(', ')}`)),
        },
        open: () => PostgresMetadataStore.open(url),
        // The tables, their indexes and the catalog (about 7.5 MB in an empty database), not the WAL.
        diskBytes: () =>
          withClient(url, async (client) => {
            const { rows } = await client.query<{ bytes: string }>(
              'SELECT pg_database_size(current_database()) AS bytes',
            )
            return Number(rows[0]?.bytes ?? 0)
          }),
        // Gone before the next size is loaded: ten million names take over ten gigabytes.
        remove: () =>
          withClient(server.url(), (client) => client.query(`DROP DATABASE ${database} WITH (FORCE)`)),
      }
    },
  }
}

async function load(client: pg.Client, size: number, mtime: number): Promise<void> {
  await client.query("SET maintenance_work_mem = '1GB'")
  await client.query('BEGIN')
  try {
    const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes i
       WHERE schemaname = current_schema() AND tablename = ANY($1)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
      [LOADED],
    )
    for (const { indexname } of indexes) await client.query(`DROP INDEX ${indexname}`)
    // In name order, as the primary keys are: each grows at its end.
    await client.query(
      `INSERT INTO versions (name, version, sha256, size, primary_id, holders, writer, mtime, holder_count)
       SELECT ${NAME}, v, encode(sha256(convert_to(i || '.' || v, 'UTF8')), 'hex'), 1024 + i % 4096,
         ${FIRST}, '[' || ${FIRST} || ',' || ${SECOND} || ']', $2, $3, 2
       FROM ${NAMES} CROSS JOIN LATERAL generate_series(1, ${VERSIONS}) AS v`,
      [size, USER, mtime],
    )
    // The holders index from the holder lists, as the store's own migration builds it.
    await client.query(
      `INSERT INTO holders (name, version, server, sha256)
       SELECT v.name, v.version, h.server::INTEGER, v.sha256
       FROM versions v CROSS JOIN LATERAL json_array_elements_text(v.holders::JSON) AS h(server)`,
    )
    await client.query(`INSERT INTO files (name, version) SELECT ${NAME}, ${VERSIONS} FROM ${NAMES}`, [size])
    await client.query(
      `INSERT INTO perms (name, owner, grp, mode) SELECT ${NAME}, $2, $3, $4 FROM ${NAMES}`,
      [size, USER, GROUP, MODE],
    )
    for (const { indexdef } of indexes) await client.query(indexdef)
    // The counts the store keeps on the change feed's head row (dfs status reads them), as its migration makes them.
    await client.query(
      `UPDATE change_head SET files = (SELECT COUNT(*) FROM files), bytes = (SELECT SUM(v.size) FROM files f
         JOIN versions v ON v.name = f.name AND v.version = f.version) WHERE id = 1`,
    )
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}
