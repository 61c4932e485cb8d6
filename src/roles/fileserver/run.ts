// Starts a file server: its blob store, its HTTPS API, and the heartbeat that keeps the directory
// told of its address and free space (retrying with backoff while the directory is away).

import { join } from 'node:path'
import { DirectoryClient } from '../../client/directory-client.ts'
import { makeAgent } from '../../client/agent.ts'
import { listen } from '../../server/app.ts'
import type { Running } from '../../server/lifecycle.ts'
import { DiskBlobStore } from '../../storage/disk-blob-store.ts'
import { memberTls } from '../../tls/node-tls.ts'
import { periodic } from '../../server/periodic.ts'
import { hosts } from '../directory/run.ts'
import { buildFileServerApp } from './app.ts'
import { FileServerService } from './service.ts'

export interface FileServerOptions {
  id: number
  root: string
  host: string
  port: number
  advertise?: string
  directory: string
  heartbeatMs: number
  /** How often to report the full inventory (and collect garbage). */
  inventoryMs: number
  /** Unreferenced blobs younger than this are kept (a write in flight may still commit them). */
  gcGraceMs: number
  /** Pause between two scrub passes over every blob. */
  scrubMs: number
  /** Bytes re-hashed per second at most while scrubbing. */
  scrubRate: number
}

export async function startFileServer(options: FileServerOptions): Promise<Running> {
  const tls = await memberTls(options.root, `dfs fileserver ${options.id}`, hosts(options))
  const agent = makeAgent(tls)
  const directory = new DirectoryClient(options.directory, agent)
  const store = new DiskBlobStore(join(options.root, `fileserver-${options.id}`))
  await store.open()
  // The app's logger, once the app exists: the service logs only after it has started serving.
  const log = { warn: (message: string) => app.log.warn(message) }
  const service = new FileServerService(options.id, store, directory, agent, log)
  const app = buildFileServerApp(service, { tls, requireClientCert: true })
  const url = await listen(app, options.host, options.port, options.advertise)

  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let failures = 0
  const beat = async () => {
    try {
      await directory.heartbeat(options.id, url, await store.freeBytes())
      if (failures > 0) app.log.warn(`directory ${options.directory} reachable again`)
      failures = 0
    } catch (error) {
      if (failures++ === 0) app.log.warn({ err: error }, `heartbeat to ${options.directory} failed; retrying`)
    }
    if (!stopped) {
      const delay =
        failures === 0 ? options.heartbeatMs : Math.min(options.heartbeatMs, 250 * 2 ** Math.min(failures, 5))
      timer = setTimeout(() => void beat(), delay)
    }
  }
  await beat()

  // On start (after temp files were cleaned) and then periodically: inventory, then garbage.
  const reconciler = periodic(options.inventoryMs, () => service.reconcile(options.gcGraceMs, Date.now()), 0)
  const scrubber = periodic(options.scrubMs, () => scrubAll(service, options.scrubRate), options.scrubMs)

  return {
    url,
    close: async () => {
      stopped = true
      clearTimeout(timer)
      await Promise.all([reconciler.stop(), scrubber.stop()])
      await app.close()
      await agent.close()
    },
  }
}

/** One scrub pass over every blob, paced to `bytesPerSecond`. */
async function scrubAll(service: FileServerService, bytesPerSecond: number): Promise<void> {
  for await (const sha256 of service.store.list()) {
    const started = Date.now()
    const size = (await service.store.size(sha256)) ?? 0
    await service.scrub(sha256)
    const due = (size / bytesPerSecond) * 1000 - (Date.now() - started)
    if (due > 0) await new Promise((resolve) => setTimeout(resolve, due))
  }
}
