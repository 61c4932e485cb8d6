// A proxy app for route tests: its directory is a real directory app in this process (a temp SQLite
// store), reached through inject by a real DirectoryClient. close() removes it all.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { makeAgent } from '../../src/client/agent.ts'
import { DirectoryClient } from '../../src/client/directory-client.ts'
import { buildProxyApp } from '../../src/roles/proxy/app.ts'
import { BlobCache } from '../../src/roles/proxy/blob-cache.ts'
import { ProxyService } from '../../src/roles/proxy/service.ts'
import { systemClock, systemRandom } from '../../src/server/clock.ts'
import type { RequestLimits } from '../../src/server/limits.ts'
import { testDirectory } from './directory-app.ts'
import { injectFetch } from './inject-fetch.ts'

export interface TestProxy {
  app: FastifyInstance
  /** A session token for a fresh user. */
  login(): Promise<string>
  close(): Promise<void>
}

export async function testProxy(limits: Partial<RequestLimits> = {}): Promise<TestProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'dfs-proxy-'))
  const directory = await testDirectory(systemClock)
  const client = new DirectoryClient('https://directory.test', injectFetch(directory.app))
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
    login: async () => (await directory.service.accounts.login(`user${++users}`, 'a password')).token,
    close: async () => {
      await app.close()
      await agent.close()
      await directory.close()
      cache.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
