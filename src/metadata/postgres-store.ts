// The MetadataStore on PostgreSQL, for directories that share one database (several directories in
// high availability, or metadata that outgrows one machine's disk). Every mutation is one
// SERIALIZABLE transaction, retried when the database reports a serialization failure, so two
// directories racing on one name behave as one would: one commit wins, the other gets DFS_CONFLICT.
//
// The SQL keeps to what the PostgreSQL-compatible distributed databases also speak (no extensions,
// no advisory locks here, sequences and row locks only), names compare byte by byte (COLLATE "C",
// whatever the database's locale), and numbers that pass 2^31 (times in ms, sizes) are BIGINT,
// read back as JavaScript numbers.

import { EventEmitter } from 'node:events'
import pg from 'pg'
import { applyPropChange, checkPropChange, checkPropTotals } from '../protocol/dead-props.ts'
import { DfsError } from '../protocol/errors.ts'
import type { Perms } from '../protocol/permissions.ts'
import type {
  BadCopyReport,
  ChangeEvent,
  FileVersion,
  HashRange,
  Lease,
  LeaseOwner,
  ServerInfo,
} from '../protocol/types.ts'
import type {
  ChildEntry,
  GroupRecord,
  JoinTokenRecord,
  LeaseKey,
  MetadataStore,
  NewVersion,
  NodeCertRecord,
  PrefixRule,
  RelinkRequest,
  SessionRecord,
  StoredChange,
  StoredLease,
  StoreNotice,
  UserRecord,
} from './store.ts'
import { changeOf, holdsLease } from './store.ts'
import { pastPrefix, walkChildren, type Bound, type ChildReader, type NameRow } from './child-walk.ts'
import {
  CURRENT,
  VERSION_COLUMNS,
  toCert,
  toChange,
  toCurrent,
  toRule,
  toToken,
  toUser,
  toVersion,
  type CertRow,
  type ChangeRow,
  type CurrentRow,
  type RuleRow,
  type TokenRow,
  type UserRow,
  type VersionRow,
} from './rows.ts'
import { redact } from './redact.ts'

/** Schema steps in order; a database records how many it has run (dfs_schema), and runs the rest. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE servers (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    free_bytes BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL,
    draining BOOLEAN NOT NULL DEFAULT FALSE
  );
  CREATE TABLE versions (
    name TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    primary_id INTEGER NOT NULL,
    holders TEXT NOT NULL,
    writer TEXT NOT NULL,
    mtime BIGINT NOT NULL,
    PRIMARY KEY (name, version)
  );
  CREATE TABLE files (
    name TEXT COLLATE "C" PRIMARY KEY,
    version INTEGER NOT NULL
  );
  CREATE TABLE leases (
    name TEXT COLLATE "C" PRIMARY KEY,
    token BIGINT NOT NULL,
    user_name TEXT NOT NULL,
    proxy INTEGER NOT NULL,
    since BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    secret_hash TEXT NOT NULL
  );
  CREATE SEQUENCE fence_tokens;
  CREATE TABLE users (
    name TEXT COLLATE "C" PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created BIGINT NOT NULL,
    admin BOOLEAN NOT NULL DEFAULT FALSE
  );
  CREATE TABLE join_tokens (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    uses_left INTEGER,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_by TEXT NOT NULL
  );
  CREATE TABLE node_certs (
    serial TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    node_id INTEGER NOT NULL,
    issued BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
  );
  CREATE INDEX node_certs_by_node ON node_certs (role, node_id);
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    created BIGINT NOT NULL,
    last_used BIGINT NOT NULL,
    expires BIGINT NOT NULL
  );
  CREATE INDEX sessions_by_user ON sessions (user_name);
  CREATE TABLE perms (
    name TEXT COLLATE "C" PRIMARY KEY,
    owner TEXT NOT NULL,
    grp TEXT NOT NULL,
    mode INTEGER NOT NULL
  );
  CREATE TABLE prefix_rules (
    prefix TEXT COLLATE "C" PRIMARY KEY,
    owner TEXT NOT NULL,
    grp TEXT NOT NULL,
    mode INTEGER NOT NULL
  );
  CREATE TABLE groups (
    name TEXT COLLATE "C" PRIMARY KEY
  );
  CREATE TABLE group_members (
    grp TEXT COLLATE "C" NOT NULL,
    user_name TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (grp, user_name)
  );
  CREATE INDEX group_members_by_user ON group_members (user_name);
  CREATE TABLE holders (
    name TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    server INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (name, version, server)
  );
  CREATE INDEX holders_by_server ON holders (server, name, version);
  CREATE INDEX holders_by_blob ON holders (server, sha256);`,
  // The change feed every directory serves, and the leases of background jobs (one runs repair).
  // A change takes its number from change_head, a row each append locks: numbers become visible in
  // the order they were given, so a reader that has seen N has seen everything before N.
  `CREATE TABLE change_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL);
  INSERT INTO change_head (id, seq) VALUES (1, 0);
  CREATE TABLE changes (
    seq BIGINT PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    writer TEXT NOT NULL,
    at BIGINT NOT NULL,
    owner TEXT NOT NULL,
    grp TEXT NOT NULL,
    mode INTEGER NOT NULL
  );
  CREATE TABLE leaders (
    job TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires BIGINT NOT NULL
  );`,
  // How many servers hold each version, indexed: repair finds the versions short of R in an index
  // range instead of a scan of every version.
  `ALTER TABLE versions ADD COLUMN holder_count INTEGER NOT NULL DEFAULT 0;
  UPDATE versions SET holder_count = (
    SELECT COUNT(*) FROM holders h WHERE h.name = versions.name AND h.version = versions.version);
  CREATE INDEX versions_by_holder_count ON versions (holder_count, name, version);`,
  // Bad-copy reports and background jobs' states, so every directory shows the same in `dfs status`.
  `CREATE SEQUENCE report_seq;
  CREATE TABLE reports (
    seq BIGINT PRIMARY KEY DEFAULT nextval('report_seq'),
    server INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL
  );
  CREATE TABLE job_states (job TEXT PRIMARY KEY, state TEXT NOT NULL);`,
  // Current names and bytes, counted once here and then with each change appended (see appendChange).
  `ALTER TABLE change_head ADD COLUMN files BIGINT NOT NULL DEFAULT 0;
  ALTER TABLE change_head ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;
  UPDATE change_head SET files = (SELECT COUNT(*) FROM files),
    bytes = (SELECT COALESCE(SUM(v.size), 0) FROM files f JOIN versions v ON v.name = f.name AND v.version = f.version)
    WHERE id = 1;`,
  // Each version's block list (protocol/blocks.ts), for files of more than one block, as the raw
  // digests (a quarter smaller than their base64). Versions committed before it have none.
  `ALTER TABLE versions ADD COLUMN blocks BYTEA;`,
  // Hashes in byte order too, whatever the locale: a full inventory's pages are ranges of hashes in
  // the order the file server sorts them (blobsHeldIn). Rebuilds the holders index by blob.
  `ALTER TABLE holders ALTER COLUMN sha256 TYPE TEXT COLLATE "C";`,
  // Empty folders' markers (WebDAV MKCOL) and dead properties per name or folder (PROPPATCH). (IF
  // NOT EXISTS: a database set back to an older schema number to test an earlier step has them.)
  `CREATE TABLE IF NOT EXISTS folders (prefix TEXT COLLATE "C" PRIMARY KEY);
  CREATE TABLE IF NOT EXISTS props (
    name TEXT COLLATE "C" NOT NULL,
    prop TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, prop)
  );`,
]

/** The channel directories hear each other's notices on (StoreNotice as JSON). */
const CHANNEL = 'dfs_notices'
/** Without LISTEN (a database that lacks it, or while reconnecting), directories look again this often. */
const POLL_MS = 1000

/** SQLSTATEs after which the whole transaction is run again: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01'])
const ATTEMPTS = 20

/** SQLSTATE classes that mean the database cannot be reached or is going away. */
const UNREACHABLE = ['08', '57P']

type Row = object
type Query = <R extends Row = Row>(sql: string, params?: unknown[]) => Promise<R[]>

// BIGINT and COUNT(*) arrive as strings by default; every such value here fits a double exactly.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

export class PostgresMetadataStore implements MetadataStore {
  readonly shared = true
  private readonly pool: pg.Pool
  private readonly url: string
  private readonly notices = new EventEmitter<{ notice: [StoreNotice] }>()
  /** The connection that LISTENs, while it is up. */
  private listener?: pg.Client
  /** Set while notices cannot be heard: directories look again every POLL_MS instead. */
  private poller?: NodeJS.Timeout
  /** A LISTEN connection is being made: the poll does not start another. */
  private connecting = false
  private closed = false
  /** The tail of the chain read-write transactions wait in (see oneWriterAtATime). */
  private writes: Promise<unknown> = Promise.resolve()

  private constructor(pool: pg.Pool, url: string) {
    this.pool = pool
    this.url = url
  }

  /** Connects to `url` (postgres://…) and brings its schema up to date. */
  static async open(url: string, options: { maxConnections?: number } = {}): Promise<PostgresMetadataStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      types,
      connectionTimeoutMillis: 10_000,
      // A directory must not hang forever on a database that stopped answering.
      query_timeout: 60_000,
      application_name: 'dfs-directory',
    })
    // An idle connection the server drops is an 'error' on the pool; the next query reconnects.
    pool.on('error', () => undefined)
    const store = new PostgresMetadataStore(pool, url)
    try {
      await store.migrate()
    } catch (error) {
      await pool.end()
      throw unreachable(error, url)
    }
    await store.listen()
    return store
  }

  /**
   * Hears other directories' notices on a connection of its own. If LISTEN is refused (databases
   * that speak PostgreSQL's protocol without it) or the connection drops, notices become a poll:
   * a 'missed' notice every POLL_MS, after which everyone looks again at what they wait for. A
   * dropped connection is tried again at each poll.
   */
  private async listen(): Promise<void> {
    if (this.closed) return
    const client = new pg.Client({
      connectionString: this.url,
      types,
      application_name: 'dfs-directory-notices',
    })
    client.on('error', () => undefined)
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
    } catch {
      await client.end().catch(() => undefined)
      this.startPolling()
      return
    }
    client.on('notification', (message) => {
      try {
        this.notices.emit('notice', JSON.parse(message.payload ?? '') as StoreNotice)
      } catch {
        this.notices.emit('notice', { kind: 'missed' })
      }
    })
    client.on('end', () => {
      if (this.listener === client) this.listener = undefined
      if (!this.closed) this.startPolling()
    })
    this.listener = client
    clearInterval(this.poller)
    this.poller = undefined
    // Whatever was said while nobody listened is looked at again.
    this.notices.emit('notice', { kind: 'missed' })
  }

  private startPolling(): void {
    if (this.poller || this.closed) return
    this.poller = setInterval(() => {
      this.notices.emit('notice', { kind: 'missed' })
      if (!this.listener) void this.listen()
    }, POLL_MS)
    this.poller.unref()
  }

  /** Tells every directory (this one included, through LISTEN) once the transaction commits. */
  private static async notify(query: Query, notice: StoreNotice): Promise<void> {
    await query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(notice)])
  }

  /**
   * Runs the schema steps this database has not had, one transaction each. Two directories starting
   * at once take turns on the dfs_schema row (locked FOR UPDATE), so each step runs exactly once.
   */
  private async migrate(): Promise<void> {
    // Two first starts at the same moment: the one that loses the race to create the table gets a
    // duplicate error, and tries again to find the table (and its row) made.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.pool.query(
          'CREATE TABLE IF NOT EXISTS dfs_schema (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)',
        )
        await this.pool.query(
          'INSERT INTO dfs_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING',
        )
        break
      } catch (error) {
        if (attempt >= 5 || !['23505', '42P07', '42710'].includes(sqlState(error) ?? '')) throw error
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt))
      }
    }
    for (;;) {
      const done = await this.withClient(async (client) => {
        await client.query('BEGIN')
        try {
          const [row] = (await client.query('SELECT version FROM dfs_schema WHERE id = 1 FOR UPDATE'))
            .rows as {
            version: number
          }[]
          const at = row?.version ?? 0
          if (at > MIGRATIONS.length) {
            throw new DfsError(
              'DFS_INTERNAL',
              `the metadata database has schema version ${at}, newer than this dfs knows (${MIGRATIONS.length}): upgrade dfs`,
            )
          }
          if (at === MIGRATIONS.length) {
            await client.query('COMMIT')
            return true
          }
          await client.query(MIGRATIONS[at]!)
          await client.query('UPDATE dfs_schema SET version = $1 WHERE id = 1', [at + 1])
          await client.query('COMMIT')
          return false
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined)
          throw error
        }
      })
      if (done) return
    }
  }

  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((error: unknown) => {
      throw unreachable(error)
    })
    try {
      return await work(client)
    } finally {
      client.release()
    }
  }

  /** One statement outside a transaction (it is its own). */
  private async query<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query(sql, params)).rows as R[]
    } catch (error) {
      throw unreachable(error)
    }
  }

  private async rowCount(sql: string, params: unknown[]): Promise<number> {
    try {
      return (await this.pool.query(sql, params)).rowCount ?? 0
    } catch (error) {
      throw unreachable(error)
    }
  }

  /**
   * Runs `work` in one SERIALIZABLE transaction, again from the start when the database says it
   * could not be serialized with another (the loser of two racing commits sees the winner's row on
   * its next attempt). A DfsError from `work` rolls back and passes through.
   */
  private async transaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.oneWriterAtATime(() =>
        this.withClient(async (client) => {
          const query: Query = async <R extends Row>(sql: string, params: unknown[] = []) =>
            (await client.query(sql, params)).rows as R[]
          try {
            await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE')
            const value = await work(query)
            await client.query('COMMIT')
            return { value }
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined)
            if (attempt < ATTEMPTS && RETRYABLE.has(sqlState(error) ?? '')) return undefined
            throw error instanceof DfsError ? error : unreachable(error)
          }
        }),
      )
      if (outcome) return outcome.value
      // Back off a little, at random, so the same two transactions do not collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 100)))
    }
  }

  /**
   * Runs `work` once the transaction before it has ended. SERIALIZABLE locks what a transaction read
   * by index page, so commits of neighbouring names (a folder uploaded at once) conflicted with each
   * other: ten at a time made five attempts per commit and ran four times slower than one at a time.
   * Directories sharing the database still race, and the retry settles those.
   */
  private oneWriterAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work, work)
    this.writes = run.catch(() => undefined)
    return run
  }

  async upsertServer(server: ServerInfo): Promise<void> {
    await this.query(
      `INSERT INTO servers (id, url, free_bytes, last_heartbeat) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, free_bytes = excluded.free_bytes,
       last_heartbeat = excluded.last_heartbeat`,
      [server.id, server.url, server.freeBytes, server.lastHeartbeat],
    )
  }

  async listServers(): Promise<ServerInfo[]> {
    const rows = await this.query<{
      id: number
      url: string
      free_bytes: number
      last_heartbeat: number
      draining: boolean
    }>('SELECT * FROM servers ORDER BY id')
    return rows.map((r) => ({
      id: r.id,
      url: r.url,
      freeBytes: r.free_bytes,
      lastHeartbeat: r.last_heartbeat,
      ...(r.draining ? { draining: true } : {}),
    }))
  }

  async setDraining(id: number, draining: boolean): Promise<boolean> {
    return (await this.rowCount('UPDATE servers SET draining = $1 WHERE id = $2', [draining, id])) === 1
  }

  async removeServer(id: number): Promise<boolean> {
    return (await this.rowCount('DELETE FROM servers WHERE id = $1', [id])) === 1
  }

  async getFile(name: string): Promise<FileVersion | undefined> {
    const [row] = await this.query<CurrentRow>(`${CURRENT} WHERE f.name = $1`, [name])
    return row ? toCurrent(row) : undefined
  }

  async listFiles(prefix: string, limit: number, after?: string): Promise<FileVersion[]> {
    // A range scan on the primary key rather than LIKE, so '%' and '_' in names are plain characters.
    const from = after !== undefined && after >= prefix ? after : undefined
    const start = from === undefined ? 'f.name >= $1' : 'f.name > $1'
    const rows =
      prefix === ''
        ? await this.query<CurrentRow>(`${CURRENT} WHERE ${start} ORDER BY f.name LIMIT $2`, [
            from ?? '',
            limit,
          ])
        : await this.query<CurrentRow>(`${CURRENT} WHERE ${start} AND f.name < $2 ORDER BY f.name LIMIT $3`, [
            from ?? prefix,
            `${prefix}\u{10ffff}`,
            limit,
          ])
    return rows.map(toCurrent)
  }

  async commit(request: NewVersion, now: number): Promise<FileVersion> {
    /** The version this one replaces (none: a new name), as the last attempt of the transaction saw it. */
    let replaced: { size: number } | undefined
    const committed = await this.transaction(async (query) => {
      const [current] = await query<{ version: number; size: number }>(
        `SELECT f.version, v.size FROM files f JOIN versions v ON v.name = f.name AND v.version = f.version
         WHERE f.name = $1`,
        [request.name],
      )
      replaced = current
      const currentVersion = current?.version ?? 0
      await checkFence(query, request, now)
      if (currentVersion !== request.expectedVersion) {
        throw new DfsError(
          'DFS_CONFLICT',
          request.expectedVersion === 0
            ? `${request.name} was created by someone else meanwhile`
            : `${request.name} changed meanwhile (now version ${currentVersion}, expected ${request.expectedVersion})`,
        )
      }
      const [last] = await query<{ v: number | null }>(
        'SELECT MAX(version) AS v FROM versions WHERE name = $1',
        [request.name],
      )
      const version = (last?.v ?? 0) + 1
      const record: FileVersion = {
        name: request.name,
        version,
        sha256: request.sha256,
        size: request.size,
        primary: request.primary,
        holders: request.holders,
        writer: request.writer,
        mtime: now,
      }
      await query(
        `INSERT INTO versions (name, version, sha256, size, primary_id, holders, writer, mtime, blocks)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          record.name,
          version,
          record.sha256,
          record.size,
          record.primary,
          JSON.stringify(record.holders),
          record.writer,
          now,
          request.blocks === undefined ? null : Buffer.from(request.blocks, 'base64'),
        ],
      )
      await indexHolders(query, record.name, version, record.sha256, record.holders)
      await query(
        'INSERT INTO files (name, version) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = excluded.version',
        [record.name, version],
      )
      // A new name belongs to its writer; a new version, or a name made again after rm while its
      // history is kept, keeps its owner, group and mode.
      let perms = await readPerms(query, record.name)
      if (!perms) {
        perms = request.perms
        await writePerms(query, record.name, perms)
      }
      return { ...record, owner: perms.owner, group: perms.group, mode: perms.mode }
    })
    await this.appendChanges([
      {
        change: changeOf('put', committed, now),
        counts: { files: replaced ? 0 : 1, bytes: committed.size - (replaced?.size ?? 0) },
      },
    ])
    return committed
  }

  async getLease(name: string): Promise<StoredLease | undefined> {
    const [row] = await this.query<LeaseRow>('SELECT * FROM leases WHERE name = $1', [name])
    return row ? toStoredLease(row) : undefined
  }

  async getPerms(name: string): Promise<Perms | undefined> {
    return readPerms((sql, params) => this.query(sql, params), name)
  }

  async setPerms(name: string, perms: Perms): Promise<void> {
    await writePerms((sql, params) => this.query(sql, params), name, perms)
  }

  async claimUnowned(group: string, mode: number): Promise<number> {
    return this.transaction(async (query) => {
      const rows = await query(
        `INSERT INTO perms (name, owner, grp, mode)
         SELECT v.name, v.writer, $1, $2 FROM versions v
         WHERE v.version = (SELECT MAX(version) FROM versions WHERE name = v.name)
         AND NOT EXISTS (SELECT 1 FROM perms p WHERE p.name = v.name) RETURNING name`,
        [group, mode],
      )
      return rows.length
    })
  }

  async prefixRule(name: string): Promise<PrefixRule | undefined> {
    const [row] = await this.query<RuleRow>(
      `SELECT * FROM prefix_rules WHERE substr($1, 1, length(prefix)) = prefix
       ORDER BY length(prefix) DESC LIMIT 1`,
      [name],
    )
    return row ? toRule(row) : undefined
  }

  async setPrefixRule(rule: PrefixRule): Promise<void> {
    await this.query(
      `INSERT INTO prefix_rules (prefix, owner, grp, mode) VALUES ($1, $2, $3, $4)
       ON CONFLICT (prefix) DO UPDATE SET owner = excluded.owner, grp = excluded.grp, mode = excluded.mode`,
      [rule.prefix, rule.owner, rule.group, rule.mode],
    )
  }

  async listPrefixRules(): Promise<PrefixRule[]> {
    return (await this.query<RuleRow>('SELECT * FROM prefix_rules ORDER BY prefix')).map(toRule)
  }

  async grantLease(
    name: string,
    owner: LeaseOwner,
    secretHash: string,
    now: number,
    ttlMs: number,
  ): Promise<Lease> {
    return this.transaction(async (query) => {
      const held = await leaseRow(query, name)
      if (held && held.expires > now) {
        throw new DfsError('DFS_LOCKED', `${name} is locked by ${held.user_name} (proxy ${held.proxy})`)
      }
      // A sequence, not a counter row: grants on different names do not serialize on one row. Its
      // numbers only grow, so a newer lease on a name always carries a larger token.
      const [next] = await query<{ token: number }>("SELECT nextval('fence_tokens') AS token")
      const lease: Lease = { name, token: next!.token, ...owner, since: now, expires: now + ttlMs }
      await query(
        `INSERT INTO leases (name, token, user_name, proxy, since, expires, secret_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (name) DO UPDATE SET token = excluded.token, user_name = excluded.user_name,
         proxy = excluded.proxy, since = excluded.since, expires = excluded.expires,
         secret_hash = excluded.secret_hash`,
        [name, lease.token, lease.user, lease.proxy, lease.since, lease.expires, secretHash],
      )
      return lease
    })
  }

  async renewLease(
    name: string,
    key: LeaseKey,
    owner: LeaseOwner,
    now: number,
    ttlMs: number,
  ): Promise<Lease> {
    return this.transaction(async (query) => {
      const held = await leaseRow(query, name)
      if (!held || !holdsLease(toStoredLease(held), key, owner.user) || held.proxy !== owner.proxy) {
        throw new DfsError('DFS_CONFLICT', `the write lease on ${name} was lost: another writer took it`)
      }
      // An expired lease nobody else took may be renewed: its token is still the newest.
      const renewed = { ...toLease(held), expires: now + ttlMs }
      await query('UPDATE leases SET expires = $1 WHERE name = $2', [renewed.expires, name])
      return renewed
    })
  }

  async releaseLease(name: string, key: LeaseKey, owner: LeaseOwner): Promise<boolean> {
    // The row stays, with its token: a later write under an older token must still be refused.
    return this.transaction(async (query) => {
      const released = await query(
        `UPDATE leases SET expires = 0 WHERE name = $1 AND token = $2 AND secret_hash = $3 AND user_name = $4
         AND proxy = $5 AND expires > 0 RETURNING name`,
        [name, key.token, key.secretHash, owner.user, owner.proxy],
      )
      if (released.length === 0) return false
      await PostgresMetadataStore.notify(query, { kind: 'lease', name })
      return true
    })
  }

  async removeFile(name: string, now: number): Promise<FileVersion> {
    const removed = await this.transaction(async (query) => {
      const [row] = await query<CurrentRow>(`${CURRENT} WHERE f.name = $1`, [name])
      if (!row) throw new DfsError('DFS_NOT_FOUND', `no such file: ${name}`)
      const lease = await leaseRow(query, name)
      if (lease && lease.expires > now) {
        throw new DfsError('DFS_LOCKED', `${name} is locked by ${lease.user_name} (proxy ${lease.proxy})`)
      }
      return unlink(query, row)
    })
    await this.appendChanges([{ change: changeOf('rm', removed, now), counts: removedCounts(removed) }])
    return removed
  }

  async moveFile(request: RelinkRequest, now: number): Promise<{ from: FileVersion; to: FileVersion }> {
    let replaced: { size: number } | undefined
    const moved = await this.transaction(async (query) => {
      const made = await relink(query, request, now, 'move')
      replaced = made.replaced
      return { from: await unlink(query, made.source), to: made.to }
    })
    await this.appendChanges([
      { change: changeOf('put', moved.to, now), counts: addedCounts(moved.to, replaced) },
      { change: changeOf('rm', moved.from, now), counts: removedCounts(moved.from) },
    ])
    return moved
  }

  async copyFile(request: Omit<RelinkRequest, 'fromLease'>, now: number): Promise<{ to: FileVersion }> {
    let replaced: { size: number } | undefined
    const copied = await this.transaction(async (query) => {
      const made = await relink(query, request, now, 'copy')
      replaced = made.replaced
      return { to: made.to }
    })
    await this.appendChanges([
      { change: changeOf('put', copied.to, now), counts: addedCounts(copied.to, replaced) },
    ])
    return copied
  }

  async listChildren(prefix: string, limit: number, after?: string): Promise<ChildEntry[]> {
    return walkChildren(this.childReader, prefix, limit, after)
  }

  private readonly childReader: ChildReader = {
    names: async (from: Bound, end: string | undefined, limit: number) => {
      // Each side cut to the batch in index order before the two are merged.
      const op = from.inclusive ? '>=' : '>'
      const upTo = (column: string) => (end === undefined ? '' : ` AND ${column} < $3`)
      const rows = await this.query<NameRow>(
        `(SELECT name, FALSE AS marker FROM files WHERE name ${op} $1${upTo('name')} ORDER BY name LIMIT $2)
         UNION ALL
         (SELECT prefix, TRUE FROM folders WHERE prefix ${op} $1${upTo('prefix')} ORDER BY prefix LIMIT $2)
         ORDER BY 1 LIMIT $2`,
        end === undefined ? [from.name, limit] : [from.name, limit, end],
      )
      return rows
    },
    markedBelow: async (below: string) =>
      (
        await this.query('SELECT 1 FROM folders WHERE prefix >= $1 AND prefix < $2 LIMIT 1', [
          below,
          pastPrefix(below),
        ])
      ).length > 0,
    files: async (names: string[]) =>
      (await this.query<CurrentRow>(`${CURRENT} WHERE f.name = ANY($1::TEXT[])`, [names])).map(toCurrent),
  }

  async makeFolder(prefix: string): Promise<boolean> {
    return (
      (await this.rowCount('INSERT INTO folders (prefix) VALUES ($1) ON CONFLICT (prefix) DO NOTHING', [
        prefix,
      ])) === 1
    )
  }

  async removeFolder(prefix: string): Promise<boolean> {
    return this.transaction(async (query) => {
      const removed = await query('DELETE FROM folders WHERE prefix = $1 RETURNING prefix', [prefix])
      if (removed.length === 0) return false
      await query('DELETE FROM props WHERE name = $1', [prefix])
      return true
    })
  }

  async folderExists(prefix: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM folders WHERE prefix = $1', [prefix])).length > 0
  }

  async getProps(name: string): Promise<Record<string, string>> {
    return readProps((sql, params) => this.query(sql, params), name)
  }

  async changeProps(
    name: string,
    set: Record<string, string>,
    remove: string[],
  ): Promise<Record<string, string>> {
    checkPropChange(set, remove)
    return this.transaction(async (query) => {
      if (!(await propsHolder(query, name)))
        throw new DfsError('DFS_NOT_FOUND', `no such file or folder: ${name}`)
      const props = applyPropChange(await readProps(query, name), set, remove)
      checkPropTotals(name, props)
      if (remove.length > 0)
        await query('DELETE FROM props WHERE name = $1 AND prop = ANY($2::TEXT[])', [name, remove])
      const entries = Object.entries(set)
      if (entries.length > 0)
        await query(
          `INSERT INTO props (name, prop, value) SELECT $1, k, v FROM unnest($2::TEXT[], $3::TEXT[]) AS s (k, v)
           ON CONFLICT (name, prop) DO UPDATE SET value = excluded.value`,
          [name, entries.map(([k]) => k), entries.map(([, v]) => v)],
        )
      return props
    })
  }

  async countFiles(): Promise<{ files: number; bytes: number }> {
    const [row] = await this.query<{ files: number; bytes: number }>(
      'SELECT files, bytes FROM change_head WHERE id = 1',
    )
    return { files: row?.files ?? 0, bytes: row?.bytes ?? 0 }
  }

  async listVersions(name: string): Promise<FileVersion[]> {
    return (
      await this.query<VersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM versions v WHERE v.name = $1 ORDER BY v.version DESC`,
        [name],
      )
    ).map(toVersion)
  }

  async blockList(name: string, version: number): Promise<string | undefined> {
    const [row] = await this.query<{ blocks: Buffer | null }>(
      'SELECT blocks FROM versions WHERE name = $1 AND version = $2',
      [name, version],
    )
    return row?.blocks ? row.blocks.toString('base64') : undefined
  }

  async pruneVersions(name: string, keep: number): Promise<void> {
    // Never the current version, whatever `keep` says.
    await this.transaction(async (query) => {
      await query(
        `DELETE FROM versions WHERE name = $1 AND version NOT IN (
           SELECT version FROM versions WHERE name = $1 ORDER BY version DESC LIMIT $2)
         AND version NOT IN (SELECT version FROM files WHERE name = $1)`,
        [name, Math.max(keep, 1)],
      )
      await query(
        'DELETE FROM holders WHERE name = $1 AND version NOT IN (SELECT version FROM versions WHERE name = $1)',
        [name],
      )
    })
  }

  async versionsHeldBy(
    server: number,
    after: { name: string; version: number } | undefined,
    limit: number,
  ): Promise<FileVersion[]> {
    // The page is cut from the holders index first, then each of its versions looked up: a join
    // over the whole page bound let the planner merge-join versions from their very first row.
    const rows = await this.query<VersionRow>(
      `SELECT v.* FROM (SELECT name, version FROM holders WHERE server = $1 AND (name, version) > ($2, $3)
         ORDER BY name, version LIMIT $4) h
       CROSS JOIN LATERAL (SELECT ${VERSION_COLUMNS} FROM versions v WHERE v.name = h.name AND v.version = h.version) v
       ORDER BY h.name, h.version`,
      [server, after?.name ?? '', after?.version ?? 0, limit],
    )
    return rows.map(toVersion)
  }

  async underReplicated(
    replicas: number,
    suspect: number[],
    after: { name: string; version: number } | undefined,
    limit: number,
  ): Promise<FileVersion[]> {
    // One index range per holder count below R and one per suspect server, each cut to a page
    // before they are merged: the cost follows the page asked for, not the namespace.
    const params: unknown[] = [after?.name ?? '', after?.version ?? 0, limit]
    const parts: string[] = []
    const param = (value: unknown) => `$${params.push(value)}`
    for (let count = 0; count < replicas; count++) {
      parts.push(`(SELECT name, version FROM versions WHERE holder_count = ${param(count)}
        AND (name, version) > ($1, $2) ORDER BY name, version LIMIT $3)`)
    }
    for (const server of new Set(suspect)) {
      parts.push(`(SELECT name, version FROM holders WHERE server = ${param(server)}
        AND (name, version) > ($1, $2) ORDER BY name, version LIMIT $3)`)
    }
    if (parts.length === 0) return []
    const rows = await this.query<VersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM versions v JOIN (${parts.join(' UNION ')}) k ON v.name = k.name AND v.version = k.version
       ORDER BY v.name, v.version LIMIT $3`,
      params,
    )
    return rows.map(toVersion)
  }

  async holderServers(): Promise<number[]> {
    // A skip scan of the holders index: one lookup per server, however many copies each holds.
    const rows = await this.query<{ server: number }>(
      `WITH RECURSIVE s (server) AS (
         SELECT MIN(server) FROM holders
         UNION ALL
         SELECT (SELECT MIN(h.server) FROM holders h WHERE h.server > s.server) FROM s WHERE s.server IS NOT NULL)
       SELECT server FROM s WHERE server IS NOT NULL`,
    )
    return rows.map((r) => r.server)
  }

  async heldCounts(): Promise<Map<number, number>> {
    const rows = await this.query<{ server: number; n: number }>(
      'SELECT server, COUNT(*) AS n FROM holders GROUP BY server',
    )
    return new Map(rows.map((r) => [r.server, r.n]))
  }

  async soleCopies(server: number): Promise<{ count: number; example?: string }> {
    const [row] = await this.query<{ n: number; example: string | null }>(
      `SELECT COUNT(*) AS n, MIN(h.name) AS example FROM holders h WHERE h.server = $1 AND NOT EXISTS (
         SELECT 1 FROM holders o WHERE o.name = h.name AND o.version = h.version AND o.server <> h.server)`,
      [server],
    )
    return { count: row?.n ?? 0, ...(row?.example == null ? {} : { example: row.example }) }
  }

  async versionsWithBlob(server: number, sha256: string): Promise<FileVersion[]> {
    const rows = await this.query<VersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM holders h JOIN versions v ON v.name = h.name AND v.version = h.version
       WHERE h.server = $1 AND h.sha256 = $2 ORDER BY h.name, h.version`,
      [server, sha256],
    )
    return rows.map(toVersion)
  }

  async setHolders(name: string, version: number, holders: number[]): Promise<void> {
    await this.transaction(async (query) => {
      const [row] = await query<{ primary_id: number; sha256: string }>(
        'SELECT primary_id, sha256 FROM versions WHERE name = $1 AND version = $2',
        [name, version],
      )
      if (!row) return
      await indexHolders(query, name, version, row.sha256, holders)
      const primary = holders.includes(row.primary_id) ? row.primary_id : (holders[0] ?? row.primary_id)
      await query('UPDATE versions SET holders = $1, primary_id = $2 WHERE name = $3 AND version = $4', [
        JSON.stringify(holders),
        primary,
        name,
        version,
      ])
    })
  }

  async blobsHeldIn(server: number, range: HashRange, limit: number): Promise<string[]> {
    // The index by blob, read in order from the range's start (DISTINCT skips a blob's other versions).
    const params: unknown[] = [server]
    const param = (value: unknown) => `$${params.push(value)}`
    const where = ['server = $1']
    if (range.after !== undefined) where.push(`sha256 > ${param(range.after)}`)
    if (range.last !== undefined) where.push(`sha256 <= ${param(range.last)}`)
    const rows = await this.query<{ sha256: string }>(
      `SELECT DISTINCT sha256 FROM holders WHERE ${where.join(' AND ')} ORDER BY sha256 LIMIT ${param(limit)}`,
      params,
    )
    return rows.map((r) => r.sha256)
  }

  async unreferenced(server: number, candidates: string[]): Promise<string[]> {
    // A page of candidates per query: the answer for a million blobs comes back in a few hundred.
    const unreferenced: string[] = []
    for (let i = 0; i < candidates.length; i += 5000) {
      const rows = await this.query<{ sha256: string }>(
        `SELECT c AS sha256 FROM unnest($2::TEXT[]) AS c
         WHERE NOT EXISTS (SELECT 1 FROM holders h WHERE h.server = $1 AND h.sha256 = c)`,
        [server, candidates.slice(i, i + 5000)],
      )
      unreferenced.push(...rows.map((r) => r.sha256))
    }
    // The same order as asked, as the embedded store answers.
    const found = new Set(unreferenced)
    return candidates.filter((c) => found.has(c))
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const [row] = await this.query<UserRow>('SELECT * FROM users WHERE name = $1', [name])
    return row ? toUser(row) : undefined
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.query<UserRow>('SELECT * FROM users ORDER BY name')).map(toUser)
  }

  async hasUsers(): Promise<boolean> {
    return (await this.query('SELECT 1 FROM users LIMIT 1')).length > 0
  }

  async createUser(user: UserRecord): Promise<boolean> {
    const changed = await this.rowCount(
      'INSERT INTO users (name, password_hash, created, admin) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING',
      [user.name, user.passwordHash, user.created, user.admin],
    )
    return changed === 1
  }

  async setPassword(name: string, passwordHash: string): Promise<boolean> {
    return (
      (await this.rowCount('UPDATE users SET password_hash = $1 WHERE name = $2', [passwordHash, name])) === 1
    )
  }

  async setAdmin(name: string, admin: boolean): Promise<boolean> {
    return (await this.rowCount('UPDATE users SET admin = $1 WHERE name = $2', [admin, name])) === 1
  }

  async removeUser(name: string): Promise<boolean> {
    return this.transaction(async (query) => {
      await query('DELETE FROM sessions WHERE user_name = $1', [name])
      await query('DELETE FROM group_members WHERE user_name = $1', [name])
      return (await query('DELETE FROM users WHERE name = $1 RETURNING name', [name])).length === 1
    })
  }

  async groupsOf(user: string): Promise<string[]> {
    const rows = await this.query<{ grp: string }>(
      'SELECT grp FROM group_members WHERE user_name = $1 ORDER BY grp',
      [user],
    )
    return rows.map((r) => r.grp)
  }

  async listGroups(): Promise<GroupRecord[]> {
    const members = await this.query<{ grp: string; user_name: string }>(
      'SELECT grp, user_name FROM group_members ORDER BY grp, user_name',
    )
    const groups = (await this.query<{ name: string }>('SELECT name FROM groups ORDER BY name')).map(
      (g): GroupRecord => ({ name: g.name, members: [] }),
    )
    const byName = new Map(groups.map((g) => [g.name, g]))
    for (const m of members) byName.get(m.grp)?.members.push(m.user_name)
    return groups
  }

  async addToGroup(group: string, users: string[]): Promise<void> {
    await this.transaction(async (query) => {
      await query('INSERT INTO groups (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [group])
      for (const user of users)
        await query('INSERT INTO group_members (grp, user_name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          group,
          user,
        ])
    })
  }

  async removeFromGroup(group: string, users: string[]): Promise<number> {
    return this.transaction(async (query) => {
      const rows = await query(
        'DELETE FROM group_members WHERE grp = $1 AND user_name = ANY($2::TEXT[]) RETURNING 1',
        [group, users],
      )
      return rows.length
    })
  }

  async removeGroup(group: string): Promise<boolean> {
    return this.transaction(async (query) => {
      await query('DELETE FROM group_members WHERE grp = $1', [group])
      return (await query('DELETE FROM groups WHERE name = $1 RETURNING name', [group])).length === 1
    })
  }

  async putSession(session: SessionRecord): Promise<void> {
    await this.query(
      'INSERT INTO sessions (token_hash, user_name, created, last_used, expires) VALUES ($1, $2, $3, $4, $5)',
      [session.tokenHash, session.user, session.created, session.lastUsed, session.expires],
    )
  }

  async getSession(tokenHash: string): Promise<SessionRecord | undefined> {
    const [row] = await this.query<{
      token_hash: string
      user_name: string
      created: number
      last_used: number
      expires: number
    }>('SELECT * FROM sessions WHERE token_hash = $1', [tokenHash])
    return row
      ? {
          tokenHash: row.token_hash,
          user: row.user_name,
          created: row.created,
          lastUsed: row.last_used,
          expires: row.expires,
        }
      : undefined
  }

  async touchSession(tokenHash: string, now: number): Promise<void> {
    await this.query('UPDATE sessions SET last_used = $1 WHERE token_hash = $2', [now, tokenHash])
  }

  async deleteSession(tokenHash: string): Promise<boolean> {
    return (await this.rowCount('DELETE FROM sessions WHERE token_hash = $1', [tokenHash])) === 1
  }

  async deleteUserSessions(user: string): Promise<number> {
    return this.rowCount('DELETE FROM sessions WHERE user_name = $1', [user])
  }

  async deleteExpiredSessions(now: number, idleBefore: number): Promise<number> {
    return this.rowCount('DELETE FROM sessions WHERE expires < $1 OR last_used < $2', [now, idleBefore])
  }

  async createJoinToken(token: JoinTokenRecord): Promise<void> {
    await this.query(
      `INSERT INTO join_tokens (id, secret_hash, role, created, expires, uses_left, revoked, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        token.id,
        token.secretHash,
        token.role,
        token.created,
        token.expires,
        token.usesLeft,
        token.revoked,
        token.createdBy,
      ],
    )
  }

  async getJoinToken(id: string): Promise<JoinTokenRecord | undefined> {
    const [row] = await this.query<TokenRow>('SELECT * FROM join_tokens WHERE id = $1', [id])
    return row ? toToken(row) : undefined
  }

  async listJoinTokens(): Promise<JoinTokenRecord[]> {
    return (await this.query<TokenRow>('SELECT * FROM join_tokens ORDER BY created, id')).map(toToken)
  }

  async useJoinToken(id: string, now: number): Promise<boolean> {
    const changed = await this.rowCount(
      `UPDATE join_tokens SET uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END
       WHERE id = $1 AND NOT revoked AND (expires = 0 OR expires > $2) AND (uses_left IS NULL OR uses_left > 0)`,
      [id, now],
    )
    return changed === 1
  }

  async revokeJoinToken(id: string): Promise<boolean> {
    return (
      (await this.rowCount('UPDATE join_tokens SET revoked = TRUE WHERE id = $1 AND NOT revoked', [id])) === 1
    )
  }

  async recordNodeCert(cert: NodeCertRecord): Promise<void> {
    await this.query(
      'INSERT INTO node_certs (serial, role, node_id, issued, expires, revoked) VALUES ($1, $2, $3, $4, $5, $6)',
      [cert.serial, cert.role, cert.nodeId, cert.issued, cert.expires, cert.revoked],
    )
  }

  async nodeCerts(role: string, nodeId: number): Promise<NodeCertRecord[]> {
    const rows = await this.query<CertRow>(
      'SELECT * FROM node_certs WHERE role = $1 AND node_id = $2 ORDER BY issued DESC, serial',
      [role, nodeId],
    )
    return rows.map(toCert)
  }

  async listNodeCerts(): Promise<NodeCertRecord[]> {
    return (
      await this.query<CertRow>('SELECT * FROM node_certs ORDER BY role, node_id, issued DESC, serial')
    ).map(toCert)
  }

  async revokeNodeCerts(role: string, nodeId: number): Promise<string[]> {
    const rows = await this.transaction(async (query) => {
      const revoked = await query<{ serial: string }>(
        'UPDATE node_certs SET revoked = TRUE WHERE role = $1 AND node_id = $2 AND NOT revoked RETURNING serial',
        [role, nodeId],
      )
      await PostgresMetadataStore.notify(query, { kind: 'revoked' })
      return revoked
    })
    return rows.map((r) => r.serial)
  }

  async revokedSerials(now: number): Promise<string[]> {
    const rows = await this.query<{ serial: string }>(
      'SELECT serial FROM node_certs WHERE revoked AND expires > $1 ORDER BY serial',
      [now],
    )
    return rows.map((r) => r.serial)
  }

  /**
   * Appends a change to the feed after the transaction that made it, in a short READ COMMITTED
   * transaction of its own that takes its number from the change_head row: appends queue on that
   * row, so numbers become visible in order (a reader that has seen N has seen everything before N)
   * without every commit in the cluster conflicting with every other, as one SERIALIZABLE
   * transaction holding the row would. The cost: a directory killed between the two loses that one
   * event (caches check every read against the directory anyway). A failure here is not the
   * commit's: it landed, and saying otherwise would make its writer retry a write that is done.
   */
  private async appendChanges(
    appends: { change: Omit<ChangeEvent, 'seq'>; counts: { files: number; bytes: number } }[],
  ): Promise<void> {
    await this.withClient(async (client) => {
      try {
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED')
        // A rename's two changes in one of these: numbered one after the other, seen together.
        for (const { change, counts } of appends) {
          // The head row also counts the current names and bytes for `dfs status` (a counter in the
          // commit's own transaction would make every commit conflict with every other).
          const { rows } = await client.query<{ seq: number }>(
            'UPDATE change_head SET seq = seq + 1, files = files + $1, bytes = bytes + $2 WHERE id = 1 RETURNING seq',
            [counts.files, counts.bytes],
          )
          await client.query(
            `INSERT INTO changes (seq, type, name, version, sha256, size, writer, at, owner, grp, mode)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
            [
              rows[0]!.seq,
              change.type,
              change.name,
              change.version,
              change.sha256,
              change.size,
              change.writer,
              change.at,
              change.owner,
              change.group,
              change.mode,
            ],
          )
        }
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ kind: 'changes' })])
        await client.query('COMMIT')
      } catch {
        await client.query('ROLLBACK').catch(() => undefined)
      }
    }).catch(() => undefined)
  }

  async changesSince(seq: number, limit: number): Promise<StoredChange[]> {
    const rows = await this.query<ChangeRow>('SELECT * FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2', [
      seq,
      limit,
    ])
    return rows.map(toChange)
  }

  async changeBounds(): Promise<{ first: number; last: number }> {
    const [row] = await this.query<{ first: number | null; last: number }>(
      'SELECT (SELECT MIN(seq) FROM changes) AS first, seq AS last FROM change_head WHERE id = 1',
    )
    const last = row?.last ?? 0
    return { first: row?.first ?? last + 1, last }
  }

  async pruneChanges(keep: number): Promise<number> {
    return this.rowCount('DELETE FROM changes WHERE seq <= (SELECT seq FROM change_head WHERE id = 1) - $1', [
      Math.max(keep, 0),
    ])
  }

  async claimLeadership(job: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    const rows = await this.transaction((query) =>
      query(
        `INSERT INTO leaders (job, holder, expires) VALUES ($1, $2, $3)
         ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
         WHERE leaders.holder = excluded.holder OR leaders.expires <= $4 RETURNING job`,
        [job, holder, now + ttlMs, now],
      ),
    )
    return rows.length === 1
  }

  async resignLeadership(job: string, holder: string): Promise<void> {
    await this.query('UPDATE leaders SET expires = 0 WHERE job = $1 AND holder = $2', [job, holder])
  }

  async addReport(report: BadCopyReport, keep: number): Promise<void> {
    await this.transaction(async (query) => {
      const [row] = await query<{ seq: number }>(
        'INSERT INTO reports (server, sha256, reason, at) VALUES ($1, $2, $3, $4) RETURNING seq',
        [report.server, report.sha256, report.reason, report.at],
      )
      await query('DELETE FROM reports WHERE seq <= $1', [row!.seq - keep])
    })
  }

  async listReports(): Promise<BadCopyReport[]> {
    return this.query<BadCopyReport>('SELECT server, sha256, reason, at FROM reports ORDER BY seq')
  }

  async putJobState(job: string, state: string): Promise<void> {
    await this.query(
      'INSERT INTO job_states (job, state) VALUES ($1, $2) ON CONFLICT (job) DO UPDATE SET state = excluded.state',
      [job, state],
    )
  }

  async getJobState(job: string): Promise<string | undefined> {
    const [row] = await this.query<{ state: string }>('SELECT state FROM job_states WHERE job = $1', [job])
    return row?.state
  }

  subscribe(listener: (notice: StoreNotice) => void): () => void {
    this.notices.on('notice', listener)
    return () => this.notices.off('notice', listener)
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.poller)
    const listener = this.listener
    this.listener = undefined
    await listener?.end().catch(() => undefined)
    await this.pool.end()
  }
}

/**
 * Fencing: a write under a lease must carry the newest token granted for the name; a write with no
 * lease must not race a holder. (Reading the lease row inside the SERIALIZABLE transaction makes a
 * grant that lands meanwhile a serialization failure, and the commit runs again and sees it.)
 */
async function checkFence(query: Query, request: NewVersion, now: number): Promise<void> {
  await fence(query, request.name, request.lease, request.writer, now)
}

async function fence(
  query: Query,
  name: string,
  key: LeaseKey | undefined,
  writer: string,
  now: number,
): Promise<void> {
  const lease = await leaseRow(query, name)
  if (key !== undefined) {
    if (!lease || !holdsLease(toStoredLease(lease), key, writer)) {
      throw new DfsError(
        'DFS_CONFLICT',
        `the write lease on ${name} was lost (token ${key.token} is not the holder's): another writer took it`,
      )
    }
  } else if (lease && lease.expires > now) {
    throw new DfsError('DFS_LOCKED', `${name} is locked by ${lease.user_name} (proxy ${lease.proxy})`)
  }
}

/** Removes a current name with its dead properties, inside the caller's transaction. */
async function unlink(query: Query, row: CurrentRow): Promise<FileVersion> {
  await query('DELETE FROM files WHERE name = $1', [row.name])
  await query('DELETE FROM props WHERE name = $1', [row.name])
  return toCurrent(row)
}

/** What a new version adds to the counts of current names and bytes. */
function addedCounts(file: FileVersion, replaced: { size: number } | undefined) {
  return { files: replaced ? 0 : 1, bytes: file.size - (replaced?.size ?? 0) }
}

function removedCounts(file: FileVersion) {
  return { files: -1, bytes: -file.size }
}

/**
 * A new version of `to` with the blob, block list and holders of `from`'s current version, indexed
 * as a commit's are, with the owner and dead properties a move or copy gives it (see the SQLite
 * store). `replaced`: the version of `to` it replaces, if any.
 */
async function relink(
  query: Query,
  request: RelinkRequest,
  now: number,
  how: 'move' | 'copy',
): Promise<{ source: CurrentRow; to: FileVersion; replaced?: { size: number } }> {
  const { from, to, writer } = request
  if (from === to) throw new DfsError('DFS_BAD_REQUEST', `cannot ${how} ${from} onto itself`)
  const [source] = await query<CurrentRow>(`${CURRENT} WHERE f.name = $1`, [from])
  if (!source) throw new DfsError('DFS_NOT_FOUND', `no such file: ${from}`)
  if (how === 'move') await fence(query, from, request.fromLease, writer, now)
  await fence(query, to, request.toLease, writer, now)
  const [target] = await query<{ size: number }>(
    'SELECT v.size FROM files f JOIN versions v ON v.name = f.name AND v.version = f.version WHERE f.name = $1',
    [to],
  )
  if (target && !request.overwrite)
    throw new DfsError('DFS_EXISTS', `${to} already exists (and overwriting was not asked for)`)
  const [last] = await query<{ v: number | null }>('SELECT MAX(version) AS v FROM versions WHERE name = $1', [
    to,
  ])
  const version = (last?.v ?? 0) + 1
  await query(
    `INSERT INTO versions (name, version, sha256, size, primary_id, holders, writer, mtime, blocks)
     SELECT $1, $2, sha256, size, primary_id, holders, $3, $4, blocks FROM versions WHERE name = $5 AND version = $6`,
    [to, version, writer, now, from, source.version],
  )
  await indexHolders(query, to, version, source.sha256, JSON.parse(source.holders) as number[])
  await query(
    'INSERT INTO files (name, version) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = excluded.version',
    [to, version],
  )
  const perms = await relinkedPerms(query, request, how)
  await query('DELETE FROM props WHERE name = $1', [to])
  await query('INSERT INTO props (name, prop, value) SELECT $1, prop, value FROM props WHERE name = $2', [
    to,
    from,
  ])
  const file: FileVersion = {
    ...toVersion(source),
    name: to,
    version,
    writer,
    mtime: now,
    owner: perms.owner,
    group: perms.group,
    mode: perms.mode,
  }
  return { source, to: file, ...(target ? { replaced: target } : {}) }
}

/** A renamed name keeps its owner, group and mode; a copy's target keeps its own, if it has them. */
async function relinkedPerms(query: Query, request: RelinkRequest, how: 'move' | 'copy'): Promise<Perms> {
  if (how === 'move') {
    const perms = (await readPerms(query, request.from)) ?? request.perms
    await writePerms(query, request.to, perms)
    return perms
  }
  const own = await readPerms(query, request.to)
  if (own) return own
  await writePerms(query, request.to, request.perms)
  return request.perms
}

async function readProps(query: Query, name: string): Promise<Record<string, string>> {
  const rows = await query<{ prop: string; value: string }>(
    'SELECT prop, value FROM props WHERE name = $1 ORDER BY prop',
    [name],
  )
  return Object.fromEntries(rows.map((r) => [r.prop, r.value]))
}

/** Whether `name` may have dead properties: a current file, or a folder marked or with names below. */
async function propsHolder(query: Query, name: string): Promise<boolean> {
  if (!name.endsWith('/')) return (await query('SELECT 1 FROM files WHERE name = $1', [name])).length > 0
  const [row] = await query(
    `SELECT 1 WHERE EXISTS (SELECT 1 FROM folders WHERE prefix = $1)
       OR EXISTS (SELECT 1 FROM files WHERE name >= $1 AND name < $2)`,
    [name, pastPrefix(name)],
  )
  return row !== undefined
}

async function leaseRow(query: Query, name: string): Promise<LeaseRow | undefined> {
  const [row] = await query<LeaseRow>('SELECT * FROM leases WHERE name = $1', [name])
  return row
}

async function readPerms(query: Query, name: string): Promise<Perms | undefined> {
  const [row] = await query<{ owner: string; grp: string; mode: number }>(
    'SELECT owner, grp, mode FROM perms WHERE name = $1',
    [name],
  )
  return row ? { owner: row.owner, group: row.grp, mode: row.mode } : undefined
}

async function writePerms(query: Query, name: string, perms: Perms): Promise<void> {
  await query(
    `INSERT INTO perms (name, owner, grp, mode) VALUES ($1, $2, $3, $4)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, grp = excluded.grp, mode = excluded.mode`,
    [name, perms.owner, perms.group, perms.mode],
  )
}

/** The holders index follows each version's holder list, in the same transaction (see the SQLite store). */
async function indexHolders(
  query: Query,
  name: string,
  version: number,
  sha256: string,
  holders: number[],
): Promise<void> {
  await query('DELETE FROM holders WHERE name = $1 AND version = $2', [name, version])
  await query('UPDATE versions SET holder_count = $1 WHERE name = $2 AND version = $3', [
    new Set(holders).size,
    name,
    version,
  ])
  if (holders.length === 0) return
  await query(
    `INSERT INTO holders (name, version, server, sha256)
     SELECT $1, $2, s, $3 FROM unnest($4::INTEGER[]) AS s ON CONFLICT DO NOTHING`,
    [name, version, sha256, holders],
  )
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/**
 * A failure to reach the database becomes DFS_UNAVAILABLE with a short reason; any other error
 * passes through as it is. Only the operator's start-up error names the database (without its
 * password): what users see goes through proxies, and carries no internal address.
 */
function unreachable(error: unknown, url?: string): unknown {
  if (error instanceof DfsError) return error
  const why = unreachableReason(error)
  if (why === undefined) return error
  const where = url ? ` at ${redact(url)}` : ''
  return new DfsError('DFS_UNAVAILABLE', `the metadata database${where} is unreachable (${why})`, {
    cause: error,
  })
}

function unreachableReason(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  const message = error instanceof Error ? error.message : ''
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ETIMEDOUT' || /timeout/i.test(message)) return 'timed out'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'unknown host'
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code
  if (/Connection terminated/i.test(message)) return 'connection lost'
  const state = sqlState(error)
  if (state === '57P01' || state === '57P02' || state === '57P03')
    return 'the database is shutting down or starting'
  if (state !== undefined && UNREACHABLE.some((c) => state.startsWith(c))) return `SQLSTATE ${state}`
  return undefined
}

interface LeaseRow extends Row {
  name: string
  token: number
  user_name: string
  proxy: number
  since: number
  expires: number
  secret_hash: string
}

function toLease(row: LeaseRow): Lease {
  return {
    name: row.name,
    token: row.token,
    user: row.user_name,
    proxy: row.proxy,
    since: row.since,
    expires: row.expires,
  }
}

function toStoredLease(row: LeaseRow): StoredLease {
  return { ...toLease(row), secretHash: row.secret_hash }
}
