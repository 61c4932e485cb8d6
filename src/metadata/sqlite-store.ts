// The embedded MetadataStore: node:sqlite in WAL mode. Mutations made in the same event-loop turn
// share one transaction (group commit), and a call returns once its transaction is on disk. SQLite
// runs with synchronous=NORMAL, so its COMMIT only appends to the write-ahead log, and the store
// fsyncs that log itself, in the thread pool: the event loop serves other requests while the disk
// works (under FULL, SQLite's own fsync at COMMIT stalled it, a third of a busy directory's time),
// and what arrives meanwhile joins the next transaction. Until its fsync is done, a transaction is
// seen by nobody outside: the change feed stops short of it, and the directory holds every answer
// until what was committed before it was written is durable (settled()).

import { EventEmitter } from 'node:events'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS servers (
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL,
  free_bytes INTEGER NOT NULL,
  last_heartbeat INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  primary_id INTEGER NOT NULL,
  holders TEXT NOT NULL,
  writer TEXT NOT NULL,
  mtime INTEGER NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS files (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  token INTEGER NOT NULL,
  user TEXT NOT NULL,
  proxy INTEGER NOT NULL,
  since INTEGER NOT NULL,
  expires INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS join_tokens (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  uses_left INTEGER,
  revoked INTEGER NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS node_certs (
  serial TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  node_id INTEGER NOT NULL,
  issued INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS node_certs_by_node ON node_certs (role, node_id);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user);
CREATE TABLE IF NOT EXISTS perms (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  grp TEXT NOT NULL,
  mode INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS prefix_rules (
  prefix TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  grp TEXT NOT NULL,
  mode INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
  name TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS group_members (
  grp TEXT NOT NULL,
  user TEXT NOT NULL,
  PRIMARY KEY (grp, user)
);
CREATE INDEX IF NOT EXISTS group_members_by_user ON group_members (user);
CREATE TABLE IF NOT EXISTS holders (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  server INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (name, version, server)
);
CREATE INDEX IF NOT EXISTS holders_by_server ON holders (server, name, version);
CREATE INDEX IF NOT EXISTS holders_by_blob ON holders (server, sha256);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  writer TEXT NOT NULL,
  at INTEGER NOT NULL,
  owner TEXT NOT NULL,
  grp TEXT NOT NULL,
  mode INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  server INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  reason TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS job_states (
  job TEXT PRIMARY KEY,
  state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leaders (
  job TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires INTEGER NOT NULL
);
`

export class SqliteMetadataStore implements MetadataStore {
  readonly shared = false
  private readonly db: DatabaseSync
  private readonly statements = new Map<string, StatementSync>()
  /** Mutations waiting for the next group commit (see transaction). */
  private pending: {
    work: () => unknown
    resolve: (value: unknown) => void
    reject: (error: unknown) => void
  }[] = []
  /** One process uses an embedded store: its notices never leave it. */
  private readonly notices = new EventEmitter<{ notice: [StoreNotice] }>()
  /** The write-ahead log, which this store fsyncs after each COMMIT (see the top of the file). */
  private readonly wal: number | undefined
  private readonly syncLog: (fd: number) => Promise<void>
  /** Transactions committed so far, and how many of them are known to be on disk. */
  private committed = 0
  private durable = 0
  /** The newest change number on disk (the feed stops there), and each transaction's newest. */
  private durableChange = 0
  private readonly changeAt = new Map<number, number>()
  private syncing?: Promise<void>
  /** Set when an fsync of the log failed: the store takes no more writes. */
  private broken?: DfsError
  private readonly waiting: { upTo: number; resolve: () => void; reject: (error: unknown) => void }[] = []

  /** `options.syncLog` stands in for fdatasync in tests that hold a transaction short of the disk. */
  constructor(path: string, options: { syncLog?: (fd: number) => Promise<void> } = {}) {
    mkdirSync(dirname(path), { recursive: true })
    this.db = new DatabaseSync(path)
    const { journal_mode: mode } = this.db.prepare('PRAGMA journal_mode = WAL').get() as {
      journal_mode: string
    }
    // Where SQLite cannot keep a write-ahead log (a file system without shared memory, a database in
    // memory) it keeps its rollback journal: it then syncs at each COMMIT itself (FULL), and nothing
    // waits for this store's own fsync.
    this.db.exec(`PRAGMA synchronous = ${mode === 'wal' ? 'NORMAL' : 'FULL'}`)
    // A 32 MiB page cache (the default is 2 MiB): lookups in a large namespace stay in memory.
    this.db.exec('PRAGMA busy_timeout = 5000; PRAGMA cache_size = -32768;')
    this.db.exec(SCHEMA)
    this.migrate()
    if (mode === 'wal') {
      // The log and its name in the directory are on disk, with whatever start-up wrote to it. Made
      // here if SQLite has not made it yet: an empty log is no log to it.
      this.wal = openSync(`${path}-wal`, 'a')
      fdatasyncSync(this.wal)
      syncDirectory(dirname(path))
    }
    this.syncLog = options.syncLog ?? promisify(fdatasync)
    this.durableChange = this.lastChange()
  }

  private lastChange(): number {
    const row = this.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").get() as
      { seq: number } | undefined
    return row?.seq ?? 0
  }

  /** Settles once every transaction committed so far is on disk. */
  settled(): Promise<void> {
    const upTo = this.committed
    if (this.durable >= upTo) return Promise.resolve()
    if (this.broken) return Promise.reject(this.broken)
    return new Promise((resolve, reject) => {
      this.waiting.push({ upTo, resolve, reject })
      this.syncing ??= this.syncAll()
    })
  }

  /** One fdatasync at a time; each covers every COMMIT made before it began. */
  private async syncAll(): Promise<void> {
    try {
      while (this.durable < this.committed) {
        const upTo = this.committed
        try {
          await this.syncLog(this.wal!)
        } catch (error) {
          // The log may not hold what was committed, and a later fsync would not say so (the kernel
          // forgets a failed write): no transaction waiting, or to come, is told it is on disk.
          this.broken = new DfsError(
            'DFS_UNAVAILABLE',
            `the metadata log could not be written: ${String(error)}`,
          )
          for (const waiter of this.waiting.splice(0)) waiter.reject(this.broken)
          return
        }
        this.durable = upTo
        this.durableChange = this.changeAt.get(upTo) ?? this.durableChange
        for (const [turn] of this.changeAt) if (turn <= upTo) this.changeAt.delete(turn)
        const done = this.waiting.filter((waiter) => waiter.upTo <= upTo)
        this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((waiter) => waiter.upTo > upTo))
        for (const waiter of done) waiter.resolve()
      }
    } finally {
      this.syncing = undefined
    }
  }

  /** Columns added since a store was first made. */
  private migrate(): void {
    this.addColumn('servers', 'draining', 'INTEGER NOT NULL DEFAULT 0')
    if (this.addColumn('users', 'admin', 'INTEGER NOT NULL DEFAULT 0')) {
      // Before accounts had roles, the first user registered administered the cluster.
      this.db.exec(
        'UPDATE users SET admin = 1 WHERE rowid = (SELECT rowid FROM users ORDER BY created, rowid LIMIT 1)',
      )
    }
    const now = Date.now()
    if (this.addColumn('sessions', 'created', 'INTEGER NOT NULL DEFAULT 0'))
      this.prepare('UPDATE sessions SET created = ?').run(now)
    if (this.addColumn('sessions', 'last_used', 'INTEGER NOT NULL DEFAULT 0'))
      this.prepare('UPDATE sessions SET last_used = ?').run(now)
    // Leases granted before they had secrets cannot be renewed or written under: they just expire.
    this.addColumn('leases', 'secret_hash', "TEXT NOT NULL DEFAULT ''")
    const { user_version: schema } = this.db.prepare('PRAGMA user_version').get() as { user_version: number }
    if (schema < 1) {
      // The holders index, from the holder lists kept with each version before it existed.
      this.transactionNow(() => {
        this.db.exec(`INSERT OR IGNORE INTO holders (name, version, server, sha256)
          SELECT v.name, v.version, h.value, v.sha256 FROM versions v, json_each(v.holders) h`)
        this.db.exec('PRAGMA user_version = 1')
      })
    }
    if (schema < 2) {
      // Each version's number of holders, indexed, so repair finds the versions short of R by
      // lookups rather than by reading every version; counted from the holders index built above.
      this.transactionNow(() => {
        this.addColumn('versions', 'holder_count', 'INTEGER NOT NULL DEFAULT 0')
        this.db.exec(`UPDATE versions SET holder_count = (
          SELECT COUNT(*) FROM holders h WHERE h.name = versions.name AND h.version = versions.version)`)
        this.db.exec('CREATE INDEX versions_by_holder_count ON versions (holder_count, name, version)')
        this.db.exec('PRAGMA user_version = 2')
      })
    }
    if (schema < 3) {
      // How many current names and bytes, kept with each commit and removal, so `dfs status` does
      // not count the whole namespace; counted once here.
      this.transactionNow(() => {
        this.db.exec(`INSERT OR REPLACE INTO counters (key, value)
          SELECT 'files', COUNT(*) FROM files`)
        this.db.exec(`INSERT OR REPLACE INTO counters (key, value)
          SELECT 'bytes', COALESCE(SUM(v.size), 0) FROM files f JOIN versions v ON v.name = f.name AND v.version = f.version`)
        this.db.exec('PRAGMA user_version = 3')
      })
    }
    if (schema < 4) {
      // How many copies each server holds, kept by triggers on the holders index (every path that
      // adds or drops a holder goes through it), so `dfs node list` reads one row per server.
      this.transactionNow(() => {
        this.db.exec(`CREATE TABLE held_counts (server INTEGER PRIMARY KEY, n INTEGER NOT NULL);
          INSERT INTO held_counts (server, n) SELECT server, COUNT(*) FROM holders GROUP BY server;
          CREATE TRIGGER holders_counted_in AFTER INSERT ON holders BEGIN
            INSERT OR IGNORE INTO held_counts (server, n) VALUES (NEW.server, 0);
            UPDATE held_counts SET n = n + 1 WHERE server = NEW.server;
          END;
          CREATE TRIGGER holders_counted_out AFTER DELETE ON holders BEGIN
            UPDATE held_counts SET n = n - 1 WHERE server = OLD.server;
          END;
          PRAGMA user_version = 4;`)
      })
    }
    if (schema < 5) {
      // Each version's block list (protocol/blocks.ts), for files of more than one block, as the raw
      // digests (a quarter smaller than their base64). Versions committed before it have none.
      this.transactionNow(() => {
        this.addColumn('versions', 'blocks', 'BLOB')
        this.db.exec('PRAGMA user_version = 5')
      })
    }
    if (schema < 6) {
      // Empty folders' markers (WebDAV MKCOL) and dead properties per name or folder (PROPPATCH).
      this.transactionNow(() => {
        this.db.exec(`CREATE TABLE IF NOT EXISTS folders (prefix TEXT PRIMARY KEY);
          CREATE TABLE IF NOT EXISTS props (
            name TEXT NOT NULL,
            prop TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (name, prop)
          );
          PRAGMA user_version = 6;`)
      })
    }
  }

  /** Adds `delta` to a counter (files, bytes), inside the caller's transaction. */
  private bump(key: 'files' | 'bytes', delta: number): void {
    if (delta === 0) return
    this.prepare(
      `INSERT INTO counters (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value`,
    ).run(key, delta)
  }

  /** Adds a column if the table lacks it; whether it did. */
  private addColumn(table: string, column: string, definition: string): boolean {
    const columns = (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map(
      (c) => c.name,
    )
    if (columns.includes(column)) return false
    this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`)
    return true
  }

  private prepare(sql: string): StatementSync {
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = this.db.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }

  /** For start-up (migrations): one transaction, now. */
  private transactionNow<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE')
    try {
      const result = work()
      this.db.exec('COMMIT')
      return result
    } catch (error) {
      this.db.exec('ROLLBACK')
      throw error
    }
  }

  /**
   * Group commit: `work` runs in the next shared transaction with every other mutation asked for
   * meanwhile (one event-loop turn), each in a savepoint of its own, so one that throws undoes only
   * itself. The promise settles once the COMMIT is on disk: a burst of small writes costs one fsync,
   * and the event loop stalls once for it rather than once per write.
   */
  private transaction<T>(work: () => T): Promise<T> {
    if (this.broken) return Promise.reject(this.broken)
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject })
      if (this.pending.length === 1) setImmediate(() => this.flush())
    })
  }

  private flush(): void {
    const batch = this.pending
    this.pending = []
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = []
    try {
      this.db.exec('BEGIN IMMEDIATE')
      for (const { work } of batch) {
        this.db.exec('SAVEPOINT one')
        try {
          const value = work()
          this.db.exec('RELEASE one')
          outcomes.push({ ok: true, value })
        } catch (error) {
          this.db.exec('ROLLBACK TO one')
          this.db.exec('RELEASE one')
          outcomes.push({ ok: false, error })
        }
      }
      this.db.exec('COMMIT')
    } catch (error) {
      // The transaction as a whole failed (the disk, a closed store): none of it happened.
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      for (const { reject } of batch) reject(error)
      return
    }
    this.committed++
    if (this.wal === undefined) {
      // SQLite synced it at COMMIT (see the constructor).
      this.durable = this.committed
      this.durableChange = this.lastChange()
    } else this.changeAt.set(this.committed, this.lastChange())
    this.settled().then(
      () =>
        batch.forEach(({ resolve, reject }, i) => {
          const outcome = outcomes[i]!
          if (outcome.ok) resolve(outcome.value)
          else reject(outcome.error)
        }),
      (error: unknown) => {
        for (const { reject } of batch) reject(error)
      },
    )
  }

  async upsertServer(server: ServerInfo): Promise<void> {
    // Heartbeats come often, from every server: they join the next group commit.
    await this.transaction(() =>
      this.prepare(
        `INSERT INTO servers (id, url, free_bytes, last_heartbeat) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, free_bytes = excluded.free_bytes,
         last_heartbeat = excluded.last_heartbeat`,
      ).run(server.id, server.url, server.freeBytes, server.lastHeartbeat),
    )
  }

  async listServers(): Promise<ServerInfo[]> {
    const rows = this.prepare('SELECT * FROM servers ORDER BY id').all() as unknown as {
      id: number
      url: string
      free_bytes: number
      last_heartbeat: number
      draining: number
    }[]
    return rows.map((r) => ({
      id: r.id,
      url: r.url,
      freeBytes: r.free_bytes,
      lastHeartbeat: r.last_heartbeat,
      ...(r.draining ? { draining: true } : {}),
    }))
  }

  async setDraining(id: number, draining: boolean): Promise<boolean> {
    return (
      this.prepare('UPDATE servers SET draining = ? WHERE id = ?').run(draining ? 1 : 0, id).changes === 1
    )
  }

  async removeServer(id: number): Promise<boolean> {
    return this.prepare('DELETE FROM servers WHERE id = ?').run(id).changes === 1
  }

  async getFile(name: string): Promise<FileVersion | undefined> {
    const row = this.prepare(`${CURRENT} WHERE f.name = ?`).get(name) as CurrentRow | undefined
    return row ? toCurrent(row) : undefined
  }

  async listFiles(prefix: string, limit: number, after?: string): Promise<FileVersion[]> {
    // Range scan on the primary key rather than LIKE, so '%' and '_' in names are plain characters.
    const from = after !== undefined && after >= prefix ? after : undefined
    const start = from === undefined ? 'f.name >= ?' : 'f.name > ?'
    const rows = (prefix === ''
      ? this.prepare(`${CURRENT} WHERE ${start} ORDER BY f.name LIMIT ?`).all(from ?? '', limit)
      : this.prepare(`${CURRENT} WHERE ${start} AND f.name < ? ORDER BY f.name LIMIT ?`).all(
          from ?? prefix,
          `${prefix}\u{10ffff}`,
          limit,
        )) as unknown as CurrentRow[]
    return rows.map(toCurrent)
  }

  async commit(request: NewVersion, now: number): Promise<FileVersion> {
    const committed = await this.transaction(() => {
      const current = this.prepare(
        'SELECT f.version, v.size FROM files f JOIN versions v ON v.name = f.name AND v.version = f.version WHERE f.name = ?',
      ).get(request.name) as { version: number; size: number } | undefined
      const currentVersion = current?.version ?? 0
      this.checkFence(request, now)
      if (currentVersion !== request.expectedVersion) {
        throw new DfsError(
          'DFS_CONFLICT',
          request.expectedVersion === 0
            ? `${request.name} was created by someone else meanwhile`
            : `${request.name} changed meanwhile (now version ${currentVersion}, expected ${request.expectedVersion})`,
        )
      }
      const last = this.prepare('SELECT MAX(version) AS v FROM versions WHERE name = ?').get(
        request.name,
      ) as {
        v: number | null
      }
      const version = (last.v ?? 0) + 1
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
      this.prepare(
        `INSERT INTO versions (name, version, sha256, size, primary_id, holders, writer, mtime, blocks)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        record.name,
        version,
        record.sha256,
        record.size,
        record.primary,
        JSON.stringify(record.holders),
        record.writer,
        now,
        request.blocks === undefined ? null : Buffer.from(request.blocks, 'base64'),
      )
      this.indexHolders(record.name, version, record.sha256, record.holders)
      this.bump('files', current ? 0 : 1)
      this.bump('bytes', record.size - (current?.size ?? 0))
      this.prepare(
        'INSERT INTO files (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version',
      ).run(record.name, version)
      // A new name belongs to its writer; a new version, or a name made again after rm while its
      // history is kept, keeps its owner, group and mode.
      let perms = this.readPerms(record.name)
      if (!perms) {
        perms = request.perms
        this.writePerms(record.name, perms)
      }
      const file = { ...record, owner: perms.owner, group: perms.group, mode: perms.mode }
      this.appendChange(changeOf('put', file, now))
      return file
    })
    return this.told(committed)
  }

  /**
   * Fencing: a write under a lease must carry the newest token granted for the name; a write with
   * no lease must not race a holder.
   */
  private checkFence(request: NewVersion, now: number): void {
    this.fence(request.name, request.lease, request.writer, now)
  }

  private fence(fileName: string, key: LeaseKey | undefined, writer: string, now: number): void {
    const lease = this.leaseRow(fileName)
    if (key !== undefined) {
      if (!lease || !holds(lease, key, writer)) {
        throw new DfsError(
          'DFS_CONFLICT',
          `the write lease on ${fileName} was lost (token ${key.token} is not the holder's): another writer took it`,
        )
      }
    } else if (lease && lease.expires > now) {
      throw new DfsError('DFS_LOCKED', `${fileName} is locked by ${lease.user} (proxy ${lease.proxy})`)
    }
  }

  private leaseRow(fileName: string): LeaseRow | undefined {
    return this.prepare('SELECT * FROM leases WHERE name = ?').get(fileName) as LeaseRow | undefined
  }

  async getLease(fileName: string): Promise<StoredLease | undefined> {
    const row = this.leaseRow(fileName)
    return row ? { ...toLease(row), secretHash: row.secret_hash } : undefined
  }

  private readPerms(fileName: string): Perms | undefined {
    const row = this.prepare('SELECT owner, grp, mode FROM perms WHERE name = ?').get(fileName) as
      { owner: string; grp: string; mode: number } | undefined
    return row ? { owner: row.owner, group: row.grp, mode: row.mode } : undefined
  }

  private writePerms(fileName: string, perms: Perms): void {
    this.prepare(
      `INSERT INTO perms (name, owner, grp, mode) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, grp = excluded.grp, mode = excluded.mode`,
    ).run(fileName, perms.owner, perms.group, perms.mode)
  }

  async getPerms(fileName: string): Promise<Perms | undefined> {
    return this.readPerms(fileName)
  }

  async setPerms(fileName: string, perms: Perms): Promise<void> {
    await this.transaction(() => this.writePerms(fileName, perms))
  }

  async claimUnowned(group: string, mode: number): Promise<number> {
    return this.transaction(() => {
      const result = this.prepare(
        `INSERT INTO perms (name, owner, grp, mode)
         SELECT v.name, v.writer, ?, ? FROM versions v
         WHERE v.version = (SELECT MAX(version) FROM versions WHERE name = v.name)
         AND NOT EXISTS (SELECT 1 FROM perms p WHERE p.name = v.name)`,
      ).run(group, mode)
      return Number(result.changes)
    })
  }

  async prefixRule(fileName: string): Promise<PrefixRule | undefined> {
    const row = this.prepare(
      `SELECT * FROM prefix_rules WHERE substr(?, 1, length(prefix)) = prefix
       ORDER BY length(prefix) DESC LIMIT 1`,
    ).get(fileName) as RuleRow | undefined
    return row ? toRule(row) : undefined
  }

  async setPrefixRule(rule: PrefixRule): Promise<void> {
    this.prepare(
      `INSERT INTO prefix_rules (prefix, owner, grp, mode) VALUES (?, ?, ?, ?)
       ON CONFLICT (prefix) DO UPDATE SET owner = excluded.owner, grp = excluded.grp, mode = excluded.mode`,
    ).run(rule.prefix, rule.owner, rule.group, rule.mode)
  }

  async listPrefixRules(): Promise<PrefixRule[]> {
    return (this.prepare('SELECT * FROM prefix_rules ORDER BY prefix').all() as unknown as RuleRow[]).map(
      toRule,
    )
  }

  async grantLease(
    fileName: string,
    owner: LeaseOwner,
    secretHash: string,
    now: number,
    ttlMs: number,
  ): Promise<Lease> {
    return this.transaction(() => {
      const held = this.leaseRow(fileName)
      if (held && held.expires > now) {
        throw new DfsError('DFS_LOCKED', `${fileName} is locked by ${held.user} (proxy ${held.proxy})`)
      }
      const counter = this.prepare(
        `INSERT INTO counters (key, value) VALUES ('fence', 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value`,
      ).get() as { value: number }
      const lease: Lease = {
        name: fileName,
        token: counter.value,
        ...owner,
        since: now,
        expires: now + ttlMs,
      }
      this.prepare(
        `INSERT INTO leases (name, token, user, proxy, since, expires, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET token = excluded.token, user = excluded.user, proxy = excluded.proxy,
         since = excluded.since, expires = excluded.expires, secret_hash = excluded.secret_hash`,
      ).run(fileName, lease.token, lease.user, lease.proxy, lease.since, lease.expires, secretHash)
      return lease
    })
  }

  async renewLease(
    fileName: string,
    key: LeaseKey,
    owner: LeaseOwner,
    now: number,
    ttlMs: number,
  ): Promise<Lease> {
    return this.transaction(() => {
      const held = this.leaseRow(fileName)
      if (!held || !holds(held, key, owner.user) || held.proxy !== owner.proxy || held.expires === 0) {
        throw new DfsError('DFS_CONFLICT', `the write lease on ${fileName} was lost: another writer took it`)
      }
      // An expired lease nobody else took may be renewed: its token is still the newest.
      const renewed = { ...toLease(held), expires: now + ttlMs }
      this.prepare('UPDATE leases SET expires = ? WHERE name = ?').run(renewed.expires, fileName)
      return renewed
    })
  }

  async releaseLease(fileName: string, key: LeaseKey, owner: LeaseOwner): Promise<boolean> {
    // The row stays, with its token: a later write under an older token must still be refused.
    const result = await this.transaction(() =>
      this.prepare(
        `UPDATE leases SET expires = 0 WHERE name = ? AND token = ? AND secret_hash = ? AND user = ?
         AND proxy = ? AND expires > 0`,
      ).run(fileName, key.token, key.secretHash, owner.user, owner.proxy),
    )
    if (result.changes !== 1) return false
    this.notices.emit('notice', { kind: 'lease', name: fileName })
    return true
  }

  async removeFile(fileName: string, now: number): Promise<FileVersion> {
    const removed = await this.transaction(() => {
      const row = this.prepare(`${CURRENT} WHERE f.name = ?`).get(fileName) as CurrentRow | undefined
      if (!row) throw new DfsError('DFS_NOT_FOUND', `no such file: ${fileName}`)
      const lease = this.leaseRow(fileName)
      if (lease && lease.expires > now) {
        throw new DfsError('DFS_LOCKED', `${fileName} is locked by ${lease.user} (proxy ${lease.proxy})`)
      }
      return this.unlink(row, now)
    })
    return this.told(removed)
  }

  /** Removes a current name with its dead properties, inside the caller's transaction. */
  private unlink(row: CurrentRow, now: number): FileVersion {
    this.prepare('DELETE FROM files WHERE name = ?').run(row.name)
    this.prepare('DELETE FROM props WHERE name = ?').run(row.name)
    this.bump('files', -1)
    this.bump('bytes', -row.size)
    const file = toCurrent(row)
    this.appendChange(changeOf('rm', file, now))
    return file
  }

  async moveFile(request: RelinkRequest, now: number): Promise<{ from: FileVersion; to: FileVersion }> {
    const moved = await this.transaction(() => {
      const { source, to } = this.relink(request, now, 'move')
      return { from: this.unlink(source, now), to }
    })
    return this.told(moved)
  }

  async copyFile(request: Omit<RelinkRequest, 'fromLease'>, now: number): Promise<{ to: FileVersion }> {
    const copied = await this.transaction(() => ({ to: this.relink(request, now, 'copy').to }))
    return this.told(copied)
  }

  /**
   * A new version of `to` with the blob, block list and holders of `from`'s current version,
   * indexed as a commit's are, with the owner and dead properties a move or copy gives it.
   */
  private relink(
    request: RelinkRequest,
    now: number,
    how: 'move' | 'copy',
  ): { source: CurrentRow; to: FileVersion } {
    const { from, to, writer } = request
    if (from === to) throw new DfsError('DFS_BAD_REQUEST', `cannot ${how} ${from} onto itself`)
    const source = this.prepare(`${CURRENT} WHERE f.name = ?`).get(from) as CurrentRow | undefined
    if (!source) throw new DfsError('DFS_NOT_FOUND', `no such file: ${from}`)
    if (how === 'move') this.fence(from, request.fromLease, writer, now)
    this.fence(to, request.toLease, writer, now)
    const target = this.prepare(
      'SELECT v.size FROM files f JOIN versions v ON v.name = f.name AND v.version = f.version WHERE f.name = ?',
    ).get(to) as { size: number } | undefined
    if (target && !request.overwrite)
      throw new DfsError('DFS_EXISTS', `${to} already exists (and overwriting was not asked for)`)
    const last = this.prepare('SELECT MAX(version) AS v FROM versions WHERE name = ?').get(to) as {
      v: number | null
    }
    const version = (last.v ?? 0) + 1
    this.prepare(
      `INSERT INTO versions (name, version, sha256, size, primary_id, holders, writer, mtime, blocks)
       SELECT ?, ?, sha256, size, primary_id, holders, ?, ?, blocks FROM versions WHERE name = ? AND version = ?`,
    ).run(to, version, writer, now, from, source.version)
    const holders = JSON.parse(source.holders) as number[]
    this.indexHolders(to, version, source.sha256, holders)
    this.prepare(
      'INSERT INTO files (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version',
    ).run(to, version)
    this.bump('files', target ? 0 : 1)
    this.bump('bytes', source.size - (target?.size ?? 0))
    const perms = this.relinkedPerms(request, how)
    this.prepare('DELETE FROM props WHERE name = ?').run(to)
    this.prepare('INSERT INTO props (name, prop, value) SELECT ?, prop, value FROM props WHERE name = ?').run(
      to,
      from,
    )
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
    this.appendChange(changeOf('put', file, now))
    return { source, to: file }
  }

  /** A renamed name keeps its owner, group and mode; a copy's target keeps its own, if it has them. */
  private relinkedPerms(request: RelinkRequest, how: 'move' | 'copy'): Perms {
    if (how === 'move') {
      const perms = this.readPerms(request.from) ?? request.perms
      this.writePerms(request.to, perms)
      return perms
    }
    const own = this.readPerms(request.to)
    if (own) return own
    this.writePerms(request.to, request.perms)
    return request.perms
  }

  async listChildren(prefix: string, limit: number, after?: string): Promise<ChildEntry[]> {
    return walkChildren(this.childReader, prefix, limit, after)
  }

  private readonly childReader: ChildReader = {
    names: async (from: Bound, end: string | undefined, limit: number) => {
      // Each side cut to the batch in index order before the two are merged.
      const op = from.inclusive ? '>=' : '>'
      const upTo = (column: string) => (end === undefined ? '' : ` AND ${column} < ?`)
      const bounds = end === undefined ? [from.name] : [from.name, end]
      return this.prepare(
        `SELECT name, marker FROM (SELECT name, 0 AS marker FROM files WHERE name ${op} ?${upTo('name')}
           ORDER BY name LIMIT ?)
         UNION ALL SELECT name, marker FROM (SELECT prefix AS name, 1 AS marker FROM folders
           WHERE prefix ${op} ?${upTo('prefix')} ORDER BY prefix LIMIT ?)
         ORDER BY name LIMIT ?`,
      )
        .all(...bounds, limit, ...bounds, limit, limit)
        .map((row) => {
          const { name, marker } = row as { name: string; marker: number }
          return { name, marker: marker === 1 } satisfies NameRow
        })
    },
    markedBelow: async (below: string) =>
      this.prepare('SELECT 1 FROM folders WHERE prefix >= ? AND prefix < ? LIMIT 1').get(
        below,
        pastPrefix(below),
      ) !== undefined,
    files: async (names: string[]) =>
      (
        this.prepare(`${CURRENT} WHERE f.name IN (SELECT value FROM json_each(?))`).all(
          JSON.stringify(names),
        ) as unknown as CurrentRow[]
      ).map(toCurrent),
  }

  async makeFolder(prefix: string): Promise<boolean> {
    const result = await this.transaction(() =>
      this.prepare('INSERT OR IGNORE INTO folders (prefix) VALUES (?)').run(prefix),
    )
    return result.changes === 1
  }

  async removeFolder(prefix: string): Promise<boolean> {
    return this.transaction(() => {
      if (this.prepare('DELETE FROM folders WHERE prefix = ?').run(prefix).changes !== 1) return false
      this.prepare('DELETE FROM props WHERE name = ?').run(prefix)
      return true
    })
  }

  async folderExists(prefix: string): Promise<boolean> {
    return this.prepare('SELECT 1 FROM folders WHERE prefix = ?').get(prefix) !== undefined
  }

  async getProps(name: string): Promise<Record<string, string>> {
    return this.readProps(name)
  }

  private readProps(name: string): Record<string, string> {
    const rows = this.prepare('SELECT prop, value FROM props WHERE name = ? ORDER BY prop').all(name) as {
      prop: string
      value: string
    }[]
    return Object.fromEntries(rows.map((r) => [r.prop, r.value]))
  }

  async changeProps(
    name: string,
    set: Record<string, string>,
    remove: string[],
  ): Promise<Record<string, string>> {
    checkPropChange(set, remove)
    return this.transaction(() => {
      if (!this.propsHolder(name)) throw new DfsError('DFS_NOT_FOUND', `no such file or folder: ${name}`)
      const props = applyPropChange(this.readProps(name), set, remove)
      checkPropTotals(name, props)
      const drop = this.prepare('DELETE FROM props WHERE name = ? AND prop = ?')
      for (const key of remove) drop.run(name, key)
      const put = this.prepare(
        'INSERT INTO props (name, prop, value) VALUES (?, ?, ?) ON CONFLICT (name, prop) DO UPDATE SET value = excluded.value',
      )
      for (const [key, value] of Object.entries(set)) put.run(name, key, value)
      return props
    })
  }

  /** Whether `name` may have dead properties: a current file, or a folder marked or with names below. */
  private propsHolder(name: string): boolean {
    if (!name.endsWith('/')) return this.prepare('SELECT 1 FROM files WHERE name = ?').get(name) !== undefined
    return (
      this.prepare('SELECT 1 FROM folders WHERE prefix = ?').get(name) !== undefined ||
      this.prepare('SELECT 1 FROM files WHERE name >= ? AND name < ? LIMIT 1').get(name, pastPrefix(name)) !==
        undefined
    )
  }

  async countFiles(): Promise<{ files: number; bytes: number }> {
    const rows = this.prepare("SELECT key, value FROM counters WHERE key IN ('files', 'bytes')").all() as {
      key: string
      value: number
    }[]
    const value = (key: string) => rows.find((r) => r.key === key)?.value ?? 0
    return { files: value('files'), bytes: value('bytes') }
  }

  async listVersions(fileName: string): Promise<FileVersion[]> {
    const rows = this.prepare(
      `SELECT ${VERSION_COLUMNS} FROM versions v WHERE v.name = ? ORDER BY v.version DESC`,
    ).all(fileName)
    return (rows as unknown as VersionRow[]).map(toVersion)
  }

  async blockList(fileName: string, version: number): Promise<string | undefined> {
    const row = this.prepare('SELECT blocks FROM versions WHERE name = ? AND version = ?').get(
      fileName,
      version,
    ) as { blocks: Uint8Array | null } | undefined
    const blocks = row?.blocks
    return blocks
      ? Buffer.from(blocks.buffer, blocks.byteOffset, blocks.byteLength).toString('base64')
      : undefined
  }

  async pruneVersions(fileName: string, keep: number): Promise<void> {
    // Never the current version, whatever `keep` says.
    await this.transaction(() => {
      this.prepare(
        `DELETE FROM versions WHERE name = ? AND version NOT IN (
           SELECT version FROM versions WHERE name = ? ORDER BY version DESC LIMIT ?)
         AND version NOT IN (SELECT version FROM files WHERE name = ?)`,
      ).run(fileName, fileName, Math.max(keep, 1), fileName)
      this.prepare(
        'DELETE FROM holders WHERE name = ? AND version NOT IN (SELECT version FROM versions WHERE name = ?)',
      ).run(fileName, fileName)
    })
  }

  /**
   * The holder list of a version is kept twice in one transaction: in its row, as it is read, and
   * in the holders index, which answers "what does server N hold" without reading every version.
   */
  private indexHolders(fileName: string, version: number, sha256: string, holders: number[]): void {
    this.prepare('DELETE FROM holders WHERE name = ? AND version = ?').run(fileName, version)
    const insert = this.prepare('INSERT INTO holders (name, version, server, sha256) VALUES (?, ?, ?, ?)')
    for (const server of holders) insert.run(fileName, version, server, sha256)
    this.prepare('UPDATE versions SET holder_count = ? WHERE name = ? AND version = ?').run(
      holders.length,
      fileName,
      version,
    )
  }

  async versionsHeldBy(
    server: number,
    after: { name: string; version: number } | undefined,
    limit: number,
  ): Promise<FileVersion[]> {
    const rows = this.prepare(
      `SELECT ${VERSION_COLUMNS} FROM holders h JOIN versions v ON v.name = h.name AND v.version = h.version
       WHERE h.server = ? AND (h.name, h.version) > (?, ?) ORDER BY h.name, h.version LIMIT ?`,
    ).all(server, after?.name ?? '', after?.version ?? 0, limit) as unknown as VersionRow[]
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
    const from = [after?.name ?? '', after?.version ?? 0]
    const parts: string[] = []
    const params: (string | number)[] = []
    for (let count = 0; count < replicas; count++) {
      parts.push(`SELECT name, version FROM (SELECT name, version FROM versions
        WHERE holder_count = ? AND (name, version) > (?, ?) ORDER BY name, version LIMIT ?) c${count}`)
      params.push(count, ...from, limit)
    }
    for (const [i, server] of [...new Set(suspect)].entries()) {
      parts.push(`SELECT name, version FROM (SELECT name, version FROM holders
        WHERE server = ? AND (name, version) > (?, ?) ORDER BY name, version LIMIT ?) s${i}`)
      params.push(server, ...from, limit)
    }
    if (parts.length === 0) return []
    const rows = this.prepare(
      `SELECT ${VERSION_COLUMNS} FROM versions v JOIN (${parts.join(' UNION ')}) k ON v.name = k.name AND v.version = k.version
       ORDER BY v.name, v.version LIMIT ?`,
    ).all(...params, limit) as unknown as VersionRow[]
    return rows.map(toVersion)
  }

  async holderServers(): Promise<number[]> {
    // A skip scan of the holders index: one lookup per server, however many copies each holds.
    const rows = this.prepare(
      `WITH RECURSIVE s (server) AS (
         SELECT MIN(server) FROM holders
         UNION ALL
         SELECT (SELECT MIN(h.server) FROM holders h WHERE h.server > s.server) FROM s WHERE s.server IS NOT NULL)
       SELECT server FROM s WHERE server IS NOT NULL`,
    ).all() as { server: number }[]
    return rows.map((r) => r.server)
  }

  async heldCounts(): Promise<Map<number, number>> {
    const rows = this.prepare('SELECT server, n FROM held_counts WHERE n > 0').all() as {
      server: number
      n: number
    }[]
    return new Map(rows.map((r) => [r.server, r.n]))
  }

  async soleCopies(server: number): Promise<{ count: number; example?: string }> {
    const row = this.prepare(
      `SELECT COUNT(*) AS n, MIN(h.name) AS example FROM holders h WHERE h.server = ? AND NOT EXISTS (
         SELECT 1 FROM holders o WHERE o.name = h.name AND o.version = h.version AND o.server <> h.server)`,
    ).get(server) as { n: number; example: string | null }
    return { count: row.n, ...(row.example === null ? {} : { example: row.example }) }
  }

  async versionsWithBlob(server: number, sha256: string): Promise<FileVersion[]> {
    const rows = this.prepare(
      `SELECT ${VERSION_COLUMNS} FROM holders h JOIN versions v ON v.name = h.name AND v.version = h.version
       WHERE h.server = ? AND h.sha256 = ? ORDER BY h.name, h.version`,
    ).all(server, sha256) as unknown as VersionRow[]
    return rows.map(toVersion)
  }

  async setHolders(fileName: string, version: number, holders: number[]): Promise<void> {
    await this.transaction(() => {
      const row = this.prepare('SELECT primary_id, sha256 FROM versions WHERE name = ? AND version = ?').get(
        fileName,
        version,
      ) as { primary_id: number; sha256: string } | undefined
      if (!row) return
      this.indexHolders(fileName, version, row.sha256, holders)
      const primary = holders.includes(row.primary_id) ? row.primary_id : (holders[0] ?? row.primary_id)
      this.prepare('UPDATE versions SET holders = ?, primary_id = ? WHERE name = ? AND version = ?').run(
        JSON.stringify(holders),
        primary,
        fileName,
        version,
      )
    })
  }

  async blobsHeldIn(server: number, range: HashRange, limit: number): Promise<string[]> {
    // The index by blob, read in order from the range's start (DISTINCT skips a blob's other versions).
    const where = ['server = ?']
    const params: (string | number)[] = [server]
    if (range.after !== undefined) {
      where.push('sha256 > ?')
      params.push(range.after)
    }
    if (range.last !== undefined) {
      where.push('sha256 <= ?')
      params.push(range.last)
    }
    const rows = this.prepare(
      `SELECT DISTINCT sha256 FROM holders WHERE ${where.join(' AND ')} ORDER BY sha256 LIMIT ?`,
    ).all(...params, limit) as { sha256: string }[]
    return rows.map((r) => r.sha256)
  }

  async unreferenced(server: number, candidates: string[]): Promise<string[]> {
    // One index lookup per candidate, yielding now and then: a million blobs must not stall heartbeats.
    const held = this.prepare('SELECT 1 FROM holders WHERE server = ? AND sha256 = ? LIMIT 1')
    const unreferenced: string[] = []
    for (let i = 0; i < candidates.length; i++) {
      if (i > 0 && i % 5000 === 0) await new Promise((resolve) => setImmediate(resolve))
      const sha256 = candidates[i]!
      if (held.get(server, sha256) === undefined) unreferenced.push(sha256)
    }
    return unreferenced
  }

  async getUser(userName: string): Promise<UserRecord | undefined> {
    const row = this.prepare('SELECT * FROM users WHERE name = ?').get(userName) as UserRow | undefined
    return row ? toUser(row) : undefined
  }

  async listUsers(): Promise<UserRecord[]> {
    return (this.prepare('SELECT * FROM users ORDER BY name').all() as unknown as UserRow[]).map(toUser)
  }

  async hasUsers(): Promise<boolean> {
    return this.prepare('SELECT 1 FROM users LIMIT 1').get() !== undefined
  }

  async createUser(user: UserRecord): Promise<boolean> {
    const result = this.prepare(
      'INSERT OR IGNORE INTO users (name, password_hash, created, admin) VALUES (?, ?, ?, ?)',
    ).run(user.name, user.passwordHash, user.created, user.admin ? 1 : 0)
    return result.changes === 1
  }

  async setPassword(userName: string, passwordHash: string): Promise<boolean> {
    return (
      this.prepare('UPDATE users SET password_hash = ? WHERE name = ?').run(passwordHash, userName)
        .changes === 1
    )
  }

  async setAdmin(userName: string, admin: boolean): Promise<boolean> {
    return (
      this.prepare('UPDATE users SET admin = ? WHERE name = ?').run(admin ? 1 : 0, userName).changes === 1
    )
  }

  async removeUser(userName: string): Promise<boolean> {
    return this.transaction(() => {
      this.prepare('DELETE FROM sessions WHERE user = ?').run(userName)
      this.prepare('DELETE FROM group_members WHERE user = ?').run(userName)
      return this.prepare('DELETE FROM users WHERE name = ?').run(userName).changes === 1
    })
  }

  async groupsOf(user: string): Promise<string[]> {
    return (
      this.prepare('SELECT grp FROM group_members WHERE user = ? ORDER BY grp').all(user) as { grp: string }[]
    ).map((r) => r.grp)
  }

  async listGroups(): Promise<GroupRecord[]> {
    const members = this.prepare('SELECT grp, user FROM group_members ORDER BY grp, user').all() as {
      grp: string
      user: string
    }[]
    const groups = (this.prepare('SELECT name FROM groups ORDER BY name').all() as { name: string }[]).map(
      (g): GroupRecord => ({ name: g.name, members: [] }),
    )
    for (const m of members) groups.find((g) => g.name === m.grp)?.members.push(m.user)
    return groups
  }

  async addToGroup(group: string, users: string[]): Promise<void> {
    await this.transaction(() => {
      this.prepare('INSERT OR IGNORE INTO groups (name) VALUES (?)').run(group)
      for (const user of users)
        this.prepare('INSERT OR IGNORE INTO group_members (grp, user) VALUES (?, ?)').run(group, user)
    })
  }

  async removeFromGroup(group: string, users: string[]): Promise<number> {
    return this.transaction(() => {
      let removed = 0
      for (const user of users)
        removed += Number(
          this.prepare('DELETE FROM group_members WHERE grp = ? AND user = ?').run(group, user).changes,
        )
      return removed
    })
  }

  async removeGroup(group: string): Promise<boolean> {
    return this.transaction(() => {
      this.prepare('DELETE FROM group_members WHERE grp = ?').run(group)
      return this.prepare('DELETE FROM groups WHERE name = ?').run(group).changes === 1
    })
  }

  async putSession(session: SessionRecord): Promise<void> {
    await this.transaction(() =>
      this.prepare(
        'INSERT INTO sessions (token_hash, user, created, last_used, expires) VALUES (?, ?, ?, ?, ?)',
      ).run(session.tokenHash, session.user, session.created, session.lastUsed, session.expires),
    )
  }

  async getSession(tokenHash: string): Promise<SessionRecord | undefined> {
    const row = this.prepare('SELECT * FROM sessions WHERE token_hash = ?').get(tokenHash) as
      { token_hash: string; user: string; created: number; last_used: number; expires: number } | undefined
    return row
      ? {
          tokenHash: row.token_hash,
          user: row.user,
          created: row.created,
          lastUsed: row.last_used,
          expires: row.expires,
        }
      : undefined
  }

  async touchSession(tokenHash: string, now: number): Promise<void> {
    await this.transaction(() =>
      this.prepare('UPDATE sessions SET last_used = ? WHERE token_hash = ?').run(now, tokenHash),
    )
  }

  async deleteSession(tokenHash: string): Promise<boolean> {
    return this.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash).changes === 1
  }

  async deleteUserSessions(user: string): Promise<number> {
    return Number(this.prepare('DELETE FROM sessions WHERE user = ?').run(user).changes)
  }

  async deleteExpiredSessions(now: number, idleBefore: number): Promise<number> {
    return Number(
      this.prepare('DELETE FROM sessions WHERE expires < ? OR last_used < ?').run(now, idleBefore).changes,
    )
  }

  async createJoinToken(token: JoinTokenRecord): Promise<void> {
    this.prepare(
      `INSERT INTO join_tokens (id, secret_hash, role, created, expires, uses_left, revoked, created_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      token.id,
      token.secretHash,
      token.role,
      token.created,
      token.expires,
      token.usesLeft,
      token.revoked ? 1 : 0,
      token.createdBy,
    )
  }

  async getJoinToken(id: string): Promise<JoinTokenRecord | undefined> {
    const row = this.prepare('SELECT * FROM join_tokens WHERE id = ?').get(id) as TokenRow | undefined
    return row ? toToken(row) : undefined
  }

  async listJoinTokens(): Promise<JoinTokenRecord[]> {
    return (this.prepare('SELECT * FROM join_tokens ORDER BY created').all() as unknown as TokenRow[]).map(
      toToken,
    )
  }

  async useJoinToken(id: string, now: number): Promise<boolean> {
    const result = this.prepare(
      `UPDATE join_tokens SET uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END
       WHERE id = ? AND revoked = 0 AND (expires = 0 OR expires > ?) AND (uses_left IS NULL OR uses_left > 0)`,
    ).run(id, now)
    return result.changes === 1
  }

  async revokeJoinToken(id: string): Promise<boolean> {
    return (
      this.prepare('UPDATE join_tokens SET revoked = 1 WHERE id = ? AND revoked = 0').run(id).changes === 1
    )
  }

  async recordNodeCert(cert: NodeCertRecord): Promise<void> {
    this.prepare(
      'INSERT INTO node_certs (serial, role, node_id, issued, expires, revoked) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(cert.serial, cert.role, cert.nodeId, cert.issued, cert.expires, cert.revoked ? 1 : 0)
  }

  async nodeCerts(role: string, nodeId: number): Promise<NodeCertRecord[]> {
    const rows = this.prepare(
      'SELECT * FROM node_certs WHERE role = ? AND node_id = ? ORDER BY issued DESC',
    ).all(role, nodeId) as unknown as CertRow[]
    return rows.map(toCert)
  }

  async listNodeCerts(): Promise<NodeCertRecord[]> {
    return (
      this.prepare(
        'SELECT * FROM node_certs ORDER BY role, node_id, issued DESC',
      ).all() as unknown as CertRow[]
    ).map(toCert)
  }

  async revokeNodeCerts(role: string, nodeId: number): Promise<string[]> {
    const serials = await this.transaction(() => {
      const rows = this.prepare(
        'SELECT serial FROM node_certs WHERE role = ? AND node_id = ? AND revoked = 0',
      ).all(role, nodeId) as { serial: string }[]
      this.prepare('UPDATE node_certs SET revoked = 1 WHERE role = ? AND node_id = ?').run(role, nodeId)
      return rows.map((r) => r.serial)
    })
    this.notices.emit('notice', { kind: 'revoked' })
    return serials
  }

  async revokedSerials(now: number): Promise<string[]> {
    return (
      this.prepare('SELECT serial FROM node_certs WHERE revoked = 1 AND expires > ?').all(now) as {
        serial: string
      }[]
    ).map((r) => r.serial)
  }

  /** Inside the caller's transaction; subscribers are told once it commits (see `told`). */
  private appendChange(change: Omit<ChangeEvent, 'seq'>): number {
    const row = this.prepare(
      `INSERT INTO changes (type, name, version, sha256, size, writer, at, owner, grp, mode)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
    ).get(
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
    ) as { seq: number }
    return row.seq
  }

  /** Tells subscribers that changes were appended, after the transaction that did it. */
  private told<T>(result: T): T {
    this.notices.emit('notice', { kind: 'changes' })
    return result
  }

  async changesSince(seq: number, limit: number): Promise<StoredChange[]> {
    const rows = this.prepare('SELECT * FROM changes WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?').all(
      seq,
      this.durableChange,
      limit,
    ) as unknown as ChangeRow[]
    return rows.map(toChange)
  }

  async changeBounds(): Promise<{ first: number; last: number }> {
    // Each in a query of its own: SQLite reads one end of the key for a lone MIN or MAX, but scans
    // the whole table for both in one (every commit asked this, so it grew with the feed).
    const row = this.prepare(
      'SELECT (SELECT MIN(seq) FROM changes) AS first, (SELECT MAX(seq) FROM changes) AS last',
    ).get() as {
      first: number | null
      last: number | null
    }
    // An empty feed still remembers how far it had counted (AUTOINCREMENT never reuses a number).
    const counted = this.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").get() as
      { seq: number } | undefined
    // A change whose transaction is not on disk yet is not in the feed (see the top of the file).
    const last = Math.min(row.last ?? counted?.seq ?? 0, this.durableChange)
    return { first: Math.min(row.first ?? last + 1, last + 1), last }
  }

  async pruneChanges(keep: number): Promise<number> {
    const result = this.prepare('DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - ?').run(
      Math.max(keep, 0),
    )
    return Number(result.changes)
  }

  async claimLeadership(job: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    const result = await this.transaction(() =>
      this.prepare(
        `INSERT INTO leaders (job, holder, expires) VALUES (?, ?, ?)
         ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
         WHERE leaders.holder = excluded.holder OR leaders.expires <= ?`,
      ).run(job, holder, now + ttlMs, now),
    )
    return result.changes === 1
  }

  async resignLeadership(job: string, holder: string): Promise<void> {
    this.prepare('UPDATE leaders SET expires = 0 WHERE job = ? AND holder = ?').run(job, holder)
  }

  async addReport(report: BadCopyReport, keep: number): Promise<void> {
    await this.transaction(() => {
      this.prepare('INSERT INTO reports (server, sha256, reason, at) VALUES (?, ?, ?, ?)').run(
        report.server,
        report.sha256,
        report.reason,
        report.at,
      )
      this.prepare('DELETE FROM reports WHERE seq <= (SELECT MAX(seq) FROM reports) - ?').run(keep)
    })
  }

  async listReports(): Promise<BadCopyReport[]> {
    const rows = this.prepare('SELECT server, sha256, reason, at FROM reports ORDER BY seq').all() as {
      server: number
      sha256: string
      reason: string
      at: number
    }[]
    return rows.map(({ server, sha256, reason, at }) => ({ server, sha256, reason, at }))
  }

  async putJobState(job: string, state: string): Promise<void> {
    await this.transaction(() =>
      this.prepare(
        'INSERT INTO job_states (job, state) VALUES (?, ?) ON CONFLICT (job) DO UPDATE SET state = excluded.state',
      ).run(job, state),
    )
  }

  async getJobState(job: string): Promise<string | undefined> {
    return (
      this.prepare('SELECT state FROM job_states WHERE job = ?').get(job) as { state: string } | undefined
    )?.state
  }

  subscribe(listener: (notice: StoreNotice) => void): () => void {
    this.notices.on('notice', listener)
    return () => this.notices.off('notice', listener)
  }

  async close(): Promise<void> {
    // What was asked for before the close is committed, not lost.
    if (this.pending.length > 0) this.flush()
    await this.settled().catch(() => undefined)
    if (this.wal !== undefined) closeSync(this.wal)
    this.db.close()
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

interface LeaseRow extends Lease {
  secret_hash: string
}

function toLease(row: LeaseRow): Lease {
  const { secret_hash: _secret, ...lease } = row
  return { ...lease }
}

function holds(row: LeaseRow, key: LeaseKey, user: string): boolean {
  return holdsLease({ ...toLease(row), secretHash: row.secret_hash }, key, user)
}
