// A proxy app for route tests: its directory is a real DirectoryService in this process (a temp
// SQLite store), reached through the few calls the routes under test make. close() removes it all.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { makeAgent } from '../../src/client/agent.ts'
import type { DirectoryClient } from '../../src/client/directory-client.ts'
import { SqliteMetadataStore } from '../../src/metadata/sqlite-store.ts'
import { DEFAULT_DIRECTORY_CONFIG, DirectoryService } from '../../src/roles/directory/service.ts'
import { buildProxyApp } from '../../src/roles/proxy/app.ts'
import { BlobCache } from '../../src/roles/proxy/blob-cache.ts'
import { ProxyService } from '../../src/roles/proxy/service.ts'
import { systemClock, systemRandom } from '../../src/server/clock.ts'
import type { RequestLimits } from '../../src/server/limits.ts'

export interface TestProxy {
  app: FastifyInstance
  /** A session token for a fresh user. */
  login(): Promise<string>
  close(): Promise<void>
}

export async function testProxy(limits: Partial<RequestLimits> = {}): Promise<TestProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'dfs-proxy-'))
  const store = new SqliteMetadataStore(join(dir, 'metadata.sqlite'))
  const directory = new DirectoryService(store, DEFAULT_DIRECTORY_CONFIG, systemClock, systemRandom)
  const client = {
    login: (user: string, password: string) => directory.login(user, password),
    checkSession: (token: string) => directory.authenticate(token),
    list: (prefix: string) => directory.list(prefix, 1000),
  } as unknown as DirectoryClient
  const agent = makeAgent({ ca: '' })
  const cache = new BlobCache(join(dir, 'cache'), 1024 * 1024, systemClock)
  await cache.open()
  const app = buildProxyApp(
    new ProxyService({ id: 1, directory: client, agent, cache, clock: systemClock, random: systemRandom }),
    { changeFeed: { state: { connected: false } }, limits },
  )
  await app.ready()
  let users = 0
  return {
    app,
    login: async () => (await directory.login(`user${++users}`, 'a password')).token,
    close: async () => {
      await app.close()
      await agent.close()
      await store.close()
      cache.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
