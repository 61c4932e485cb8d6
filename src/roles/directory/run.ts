// Starts a directory: the cluster CA, the metadata store and the HTTPS API.

import { join } from 'node:path'
import { SqliteMetadataStore } from '../../metadata/sqlite-store.ts'
import { listen } from '../../server/app.ts'
import { systemClock, systemRandom } from '../../server/clock.ts'
import type { Running } from '../../server/lifecycle.ts'
import { nodeTls } from '../../tls/node-tls.ts'
import { buildDirectoryApp } from './app.ts'
import { DEFAULT_DIRECTORY_CONFIG, DirectoryService } from './service.ts'

export interface DirectoryOptions {
  root: string
  host: string
  port: number
  advertise?: string
  replicas: number
  liveAfterMs?: number
}

export async function startDirectory(options: DirectoryOptions): Promise<Running> {
  const tls = await nodeTls({
    root: options.root,
    commonName: 'dfs directory',
    createCa: true,
    hosts: hosts(options),
  })
  const store = new SqliteMetadataStore(join(options.root, 'directory', 'metadata.sqlite'))
  const service = new DirectoryService(
    store,
    {
      ...DEFAULT_DIRECTORY_CONFIG,
      replicas: options.replicas,
      liveAfterMs: options.liveAfterMs ?? DEFAULT_DIRECTORY_CONFIG.liveAfterMs,
    },
    systemClock,
    systemRandom,
  )
  const app = buildDirectoryApp(service, { tls, requireClientCert: true })
  const url = await listen(app, options.host, options.port, options.advertise)
  return {
    url,
    close: async () => {
      service.leases.close()
      await app.close()
      await store.close()
    },
  }
}

export function hosts(options: { host: string; advertise?: string }): string[] {
  return [options.host, options.advertise].filter((h): h is string => !!h && h !== '0.0.0.0' && h !== '::')
}
