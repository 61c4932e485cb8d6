// A directory app for route tests: a real SQLite store in a temp dir, a fresh CA, a clock the test
// moves, the audit log in the same temp dir (which must write every entry), and the calling node's
// identity from a test header (node-identity.ts). close() removes it all.

import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { SqliteMetadataStore } from '../../src/metadata/sqlite-store.ts'
import { buildDirectoryApp } from '../../src/roles/directory/app.ts'
import { AuditLog } from '../../src/roles/directory/audit-log.ts'
import { JoinService } from '../../src/roles/directory/join-service.ts'
import { NodeAdmin, Revocations } from '../../src/roles/directory/node-admin.ts'
import { DEFAULT_DIRECTORY_CONFIG, DirectoryService } from '../../src/roles/directory/service.ts'
import { systemRandom, type Clock } from '../../src/server/clock.ts'
import { makeCa, type CaPair } from '../../src/tls/ca.ts'
import { identifyByHeader } from './node-identity.ts'

export interface TestDirectory {
  app: FastifyInstance
  store: SqliteMetadataStore
  service: DirectoryService
  joining: JoinService
  audit: AuditLog
  ca: CaPair
  /**
   * The directory as after a restart: a new service and app over the same store, so with what only
   * a running directory keeps in memory forgotten. This one is closed; close the new one instead.
   */
  restart(): Promise<TestDirectory>
  close(): Promise<void>
}

export async function testDirectory(clock: Clock): Promise<TestDirectory> {
  const dir = await mkdtemp(join(tmpdir(), 'dfs-dir-'))
  const store = new SqliteMetadataStore(join(dir, 'metadata.sqlite'))
  return start(dir, store, clock, makeCa())
}

async function start(
  dir: string,
  store: SqliteMetadataStore,
  clock: Clock,
  ca: CaPair,
): Promise<TestDirectory> {
  const service = new DirectoryService(store, { ...DEFAULT_DIRECTORY_CONFIG }, clock, systemRandom)
  const joining = new JoinService(store, ca, clock)
  const revocations = new Revocations()
  const warnings: string[] = []
  const audit = new AuditLog({ dir, clock, log: { warn: (_obj, msg) => warnings.push(msg) } })
  const app = buildDirectoryApp(service, {
    join: joining,
    nodes: new NodeAdmin(store, service, revocations),
    revocations,
    audit,
    // Calls without the test header come from proxy 1.
    identify: identifyByHeader({ role: 'proxy', id: 1 }),
  })
  await app.ready()
  const stop = async () => {
    await app.close()
    await audit.close()
  }
  const wroteEverything = () => assert.deepEqual(warnings, [], 'the audit log wrote every entry')
  return {
    app,
    store,
    service,
    joining,
    audit,
    ca,
    restart: async () => {
      await stop()
      wroteEverything()
      return start(dir, store, clock, ca)
    },
    close: async () => {
      await stop()
      await store.close()
      await rm(dir, { recursive: true, force: true })
      wroteEverything()
    },
  }
}
