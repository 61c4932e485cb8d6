// The embedded MetadataStore: node:sqlite in WAL mode with synchronous=FULL, so every committed
// transaction is on disk before the call returns.

import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DfsError } from '../protocol/errors.ts'
import type { CommitRequest, FileVersion, Lease, LeaseOwner, ServerInfo } from '../protocol/types.ts'
import type { JoinTokenRecord, MetadataStore, NodeCertRecord, SessionRecord, UserRecord } from './store.ts'

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
`

interface VersionRow {
  name: string
  version: number
  sha256: string
  size: number
  primary_id: number
  holders: string
  writer: string
  mtime: number
}

const CURRENT = `SELECT v.* FROM files f JOIN versions v ON v.name = f.name AND v.version = f.version`

export class SqliteMetadataStore implements MetadataStore {
  private readonly db: DatabaseSync
  private readonly statements = new Map<string, StatementSync>()

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;')
    this.db.exec(SCHEMA)
    this.migrate()
  }

  /** Columns added since a store was first made. */
  private migrate(): void {
    const columns = (this.db.prepare('PRAGMA table_info(servers)').all() as { name: string }[]).map(
      (c) => c.name,
    )
    if (!columns.includes('draining')) {
      this.db.exec('ALTER TABLE servers ADD COLUMN draining INTEGER NOT NULL DEFAULT 0')
    }
  }

  private prepare(sql: string): StatementSync {
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = this.db.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }

  private transaction<T>(work: () => T): T {
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

  async upsertServer(server: ServerInfo): Promise<void> {
    this.prepare(
      `INSERT INTO servers (id, url, free_bytes, last_heartbeat) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, free_bytes = excluded.free_bytes,
       last_heartbeat = excluded.last_heartbeat`,
    ).run(server.id, server.url, server.freeBytes, server.lastHeartbeat)
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
    const row = this.prepare(`${CURRENT} WHERE f.name = ?`).get(name) as VersionRow | undefined
    return row ? toVersion(row) : undefined
  }

  async listFiles(prefix: string, limit: number): Promise<FileVersion[]> {
    // Range scan on the primary key rather than LIKE, so '%' and '_' in names are plain characters.
    const rows = (prefix === ''
      ? this.prepare(`${CURRENT} ORDER BY f.name LIMIT ?`).all(limit)
      : this.prepare(`${CURRENT} WHERE f.name >= ? AND f.name < ? ORDER BY f.name LIMIT ?`).all(
          prefix,
          `${prefix}\u{10ffff}`,
          limit,
        )) as unknown as VersionRow[]
    return rows.map(toVersion)
  }

  async commit(request: CommitRequest, now: number): Promise<FileVersion> {
    return this.transaction(() => {
      const current = this.prepare('SELECT version FROM files WHERE name = ?').get(request.name) as
        { version: number } | undefined
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
        `INSERT INTO versions (name, version, sha256, size, primary_id, holders, writer, mtime)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        record.name,
        version,
        record.sha256,
        record.size,
        record.primary,
        JSON.stringify(record.holders),
        record.writer,
        now,
      )
      this.prepare(
        'INSERT INTO files (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version',
      ).run(record.name, version)
      return record
    })
  }

  /**
   * Fencing: a write under a lease must carry the newest token granted for the name; a write with
   * no lease must not race a holder.
   */
  private checkFence(request: CommitRequest, now: number): void {
    const lease = this.leaseRow(request.name)
    if (request.token !== undefined) {
      if (!lease || lease.token !== request.token) {
        throw new DfsError(
          'DFS_CONFLICT',
          `the write lease on ${request.name} was lost (token ${request.token} is stale): another writer took it`,
        )
      }
    } else if (lease && lease.expires > now) {
      throw new DfsError('DFS_LOCKED', `${request.name} is locked by ${lease.user} (proxy ${lease.proxy})`)
    }
  }

  private leaseRow(fileName: string): Lease | undefined {
    return this.prepare('SELECT * FROM leases WHERE name = ?').get(fileName) as Lease | undefined
  }

  async getLease(fileName: string): Promise<Lease | undefined> {
    const row = this.leaseRow(fileName)
    return row ? { ...row } : undefined
  }

  async grantLease(fileName: string, owner: LeaseOwner, now: number, ttlMs: number): Promise<Lease> {
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
        `INSERT INTO leases (name, token, user, proxy, since, expires) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET token = excluded.token, user = excluded.user, proxy = excluded.proxy,
         since = excluded.since, expires = excluded.expires`,
      ).run(fileName, lease.token, lease.user, lease.proxy, lease.since, lease.expires)
      return lease
    })
  }

  async renewLease(fileName: string, token: number, now: number, ttlMs: number): Promise<Lease> {
    return this.transaction(() => {
      const held = this.leaseRow(fileName)
      if (!held || held.token !== token || held.expires === 0) {
        throw new DfsError('DFS_CONFLICT', `the write lease on ${fileName} was lost: another writer took it`)
      }
      // An expired lease nobody else took may be renewed: its token is still the newest.
      const renewed = { ...held, expires: now + ttlMs }
      this.prepare('UPDATE leases SET expires = ? WHERE name = ?').run(renewed.expires, fileName)
      return renewed
    })
  }

  async releaseLease(fileName: string, token: number): Promise<boolean> {
    // The row stays, with its token: a later write under an older token must still be refused.
    const result = this.prepare(
      'UPDATE leases SET expires = 0 WHERE name = ? AND token = ? AND expires > 0',
    ).run(fileName, token)
    return result.changes === 1
  }

  async removeFile(fileName: string, now: number): Promise<FileVersion> {
    return this.transaction(() => {
      const row = this.prepare(`${CURRENT} WHERE f.name = ?`).get(fileName) as VersionRow | undefined
      if (!row) throw new DfsError('DFS_NOT_FOUND', `no such file: ${fileName}`)
      const lease = this.leaseRow(fileName)
      if (lease && lease.expires > now) {
        throw new DfsError('DFS_LOCKED', `${fileName} is locked by ${lease.user} (proxy ${lease.proxy})`)
      }
      this.prepare('DELETE FROM files WHERE name = ?').run(fileName)
      return toVersion(row)
    })
  }

  async countFiles(): Promise<{ files: number; bytes: number }> {
    const row = this.prepare(
      `SELECT COUNT(*) AS n, COALESCE(SUM(v.size), 0) AS bytes FROM (${CURRENT}) v`,
    ).get() as {
      n: number
      bytes: number
    }
    return { files: row.n, bytes: row.bytes }
  }

  async listAllVersions(): Promise<FileVersion[]> {
    return (
      this.prepare('SELECT * FROM versions ORDER BY name, version').all() as unknown as VersionRow[]
    ).map(toVersion)
  }

  async listVersions(fileName: string): Promise<FileVersion[]> {
    const rows = this.prepare('SELECT * FROM versions WHERE name = ? ORDER BY version DESC').all(fileName)
    return (rows as unknown as VersionRow[]).map(toVersion)
  }

  async pruneVersions(fileName: string, keep: number): Promise<void> {
    // Never the current version, whatever `keep` says.
    this.prepare(
      `DELETE FROM versions WHERE name = ? AND version NOT IN (
         SELECT version FROM versions WHERE name = ? ORDER BY version DESC LIMIT ?)
       AND version NOT IN (SELECT version FROM files WHERE name = ?)`,
    ).run(fileName, fileName, Math.max(keep, 1), fileName)
  }

  async setHolders(fileName: string, version: number, holders: number[]): Promise<void> {
    this.transaction(() => {
      const row = this.prepare('SELECT primary_id FROM versions WHERE name = ? AND version = ?').get(
        fileName,
        version,
      ) as { primary_id: number } | undefined
      if (!row) return
      const primary = holders.includes(row.primary_id) ? row.primary_id : (holders[0] ?? row.primary_id)
      this.prepare('UPDATE versions SET holders = ?, primary_id = ? WHERE name = ? AND version = ?').run(
        JSON.stringify(holders),
        primary,
        fileName,
        version,
      )
    })
  }

  async unreferenced(server: number, candidates: string[]): Promise<string[]> {
    const referenced = new Set(
      (
        this.prepare(
          'SELECT DISTINCT v.sha256 AS sha256 FROM versions v, json_each(v.holders) h WHERE h.value = ?',
        ).all(server) as { sha256: string }[]
      ).map((r) => r.sha256),
    )
    return candidates.filter((sha) => !referenced.has(sha))
  }

  async getUser(userName: string): Promise<UserRecord | undefined> {
    const row = this.prepare('SELECT * FROM users WHERE name = ?').get(userName) as
      { name: string; password_hash: string; created: number } | undefined
    return row ? { name: row.name, passwordHash: row.password_hash, created: row.created } : undefined
  }

  async firstUser(): Promise<string | undefined> {
    const row = this.prepare('SELECT name FROM users ORDER BY created, rowid LIMIT 1').get() as
      { name: string } | undefined
    return row?.name
  }

  async createUser(user: UserRecord): Promise<boolean> {
    const result = this.prepare(
      'INSERT OR IGNORE INTO users (name, password_hash, created) VALUES (?, ?, ?)',
    ).run(user.name, user.passwordHash, user.created)
    return result.changes === 1
  }

  async putSession(session: SessionRecord): Promise<void> {
    this.prepare('INSERT INTO sessions (token_hash, user, expires) VALUES (?, ?, ?)').run(
      session.tokenHash,
      session.user,
      session.expires,
    )
  }

  async getSession(tokenHash: string): Promise<SessionRecord | undefined> {
    const row = this.prepare('SELECT * FROM sessions WHERE token_hash = ?').get(tokenHash) as
      { token_hash: string; user: string; expires: number } | undefined
    return row ? { tokenHash: row.token_hash, user: row.user, expires: row.expires } : undefined
  }

  async deleteExpiredSessions(now: number): Promise<void> {
    this.prepare('DELETE FROM sessions WHERE expires < ?').run(now)
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
    return this.transaction(() => {
      const rows = this.prepare(
        'SELECT serial FROM node_certs WHERE role = ? AND node_id = ? AND revoked = 0',
      ).all(role, nodeId) as { serial: string }[]
      this.prepare('UPDATE node_certs SET revoked = 1 WHERE role = ? AND node_id = ?').run(role, nodeId)
      return rows.map((r) => r.serial)
    })
  }

  async revokedSerials(now: number): Promise<string[]> {
    return (
      this.prepare('SELECT serial FROM node_certs WHERE revoked = 1 AND expires > ?').all(now) as {
        serial: string
      }[]
    ).map((r) => r.serial)
  }

  async close(): Promise<void> {
    this.db.close()
  }
}

interface CertRow {
  serial: string
  role: string
  node_id: number
  issued: number
  expires: number
  revoked: number
}

function toCert(r: CertRow): NodeCertRecord {
  return {
    serial: r.serial,
    role: r.role,
    nodeId: r.node_id,
    issued: r.issued,
    expires: r.expires,
    revoked: r.revoked === 1,
  }
}

interface TokenRow {
  id: string
  secret_hash: string
  role: JoinTokenRecord['role']
  created: number
  expires: number
  uses_left: number | null
  revoked: number
  created_by: string
}

function toToken(row: TokenRow): JoinTokenRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    role: row.role,
    created: row.created,
    expires: row.expires,
    usesLeft: row.uses_left,
    revoked: row.revoked === 1,
    createdBy: row.created_by,
  }
}

function toVersion(row: VersionRow): FileVersion {
  return {
    name: row.name,
    version: row.version,
    sha256: row.sha256,
    size: row.size,
    primary: row.primary_id,
    holders: JSON.parse(row.holders) as number[],
    writer: row.writer,
    mtime: row.mtime,
  }
}
