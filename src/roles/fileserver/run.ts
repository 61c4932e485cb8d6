// Starts a file server: its blob store, its HTTPS API, and the heartbeat that keeps the directory
// told of its address, free space and background jobs (retrying with backoff while the directory is
// away). Its jobs: inventory with garbage collection, and scrubbing; each failed run logs its reason.

import { join } from 'node:path'
import { DirectoryClient } from '../../client/directory-client.ts'
import { makeAgent } from '../../client/agent.ts'
import { listen } from '../../server/app.ts'
import type { Running } from '../../server/lifecycle.ts'
import { DiskBlobStore } from '../../storage/disk-blob-store.ts'
import { periodic, type Periodic } from '../../server/periodic.ts'
import { reason } from '../../server/logger.ts'
import { memberIdentity, type MemberOptions } from '../member.ts'
import { keepRenewed } from '../../server/renewal.ts'
import { buildFileServerApp } from './app.ts'
import { FileServerService } from './service.ts'
import { scrubAll } from './scrub-pass.ts'

/** How long a failed write's answer waits for the heartbeat that reports the room it freed. */
const SPACE_BEAT_MS = 2_000

export interface FileServerOptions extends MemberOptions {
  heartbeatMs: number
  /** How often to report the inventory (what changed since the last one) and collect garbage. */
  inventoryMs: number
  /** How often the inventory lists every blob instead of what changed. */
  fullInventoryMs: number
  /** Unreferenced blobs younger than this are kept (a write in flight may still commit them). */
  gcGraceMs: number
  /** Pause between two scrub passes over every blob. */
  scrubMs: number
  /** Bytes re-hashed per second at most while scrubbing. */
  scrubRate: number
}

export async function startFileServer(options: FileServerOptions): Promise<Running> {
  const { live, join: joining } = await memberIdentity(options, 'fileserver')
  const agent = makeAgent(live)
  // The app's logger, once the app exists: the service and the failover log only once it serves.
  const log = { warn: (obj: object, message: string) => app.log.warn(obj, message) }
  const directory = new DirectoryClient(options.directories, agent, { log })
  const store = new DiskBlobStore(join(options.root, `fileserver-${options.id}`))
  await store.open()
  const service = new FileServerService(
    options.id,
    store,
    directory,
    agent,
    log,
    join(store.root, 'inventory'),
  )
  // The directory names removed nodes in each heartbeat's answer; their certificates are refused here.
  let revoked = new Set<string>()
  const app = buildFileServerApp(service, {
    tls: live.current,
    revoked: (serial) => revoked.has(serial.toUpperCase()),
  })
  // A file server that cannot listen stops what it started, so the process ends with the error.
  const url = await listen(app, options.host, options.port, options.advertise).catch(
    async (error: unknown) => {
      await app.close().catch(() => undefined)
      await agent.close().catch(() => undefined)
      throw error
    },
  )

  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let failures = 0
  // Started after the first heartbeat; each heartbeat carries their states.
  const jobs = new Map<string, Periodic>()
  const beat = async () => {
    try {
      const states = Object.fromEntries([...jobs].map(([name, job]) => [name, job.state]))
      const answer = await directory.heartbeat(options.id, url, await store.freeBytes(), states)
      revoked = new Set((answer.revoked ?? []).map((serial) => serial.toUpperCase()))
      if (failures > 0) app.log.warn(`directory ${directory.url} reachable again`)
      failures = 0
    } catch (error) {
      if (failures++ === 0)
        app.log.warn(
          { err: error },
          `heartbeat to ${directory.urls.length === 1 ? directory.url : `every directory (${directory.urls.join(', ')})`} failed: ${reason(error)}; retrying`,
        )
    }
    if (!stopped) {
      const delay =
        failures === 0 ? options.heartbeatMs : Math.min(options.heartbeatMs, 250 * 2 ** Math.min(failures, 5))
      timer = setTimeout(() => void beatNow(), delay)
    }
  }
  // One heartbeat at a time. One asked for while another is under way follows it: the one under way
  // may carry figures read before the change that asked.
  let inFlight: Promise<void> | undefined
  let queued: Promise<void> | undefined
  const beatNow = (): Promise<void> => {
    if (stopped) return Promise.resolve()
    if (!inFlight) {
      clearTimeout(timer)
      inFlight = beat().finally(() => (inFlight = undefined))
      return inFlight
    }
    queued ??= inFlight.then(() => {
      queued = undefined
      return beatNow()
    })
    return queued
  }
  // A write that failed freed its bytes: the directory hears of it before the writer does (within
  // SPACE_BEAT_MS; a directory that is away does not hold up the answer longer).
  service.spaceFreed = () =>
    new Promise<void>((resolve) => {
      const wait = setTimeout(resolve, SPACE_BEAT_MS)
      void beatNow().then(() => {
        clearTimeout(wait)
        resolve()
      })
    })
  await beatNow()

  // On start (after temp files were cleaned) and then periodically: inventory, then garbage. The
  // first one after a start is full: a blob lost while we were down is noticed at once.
  const reconcile = () =>
    service.reconcile(Date.now(), { graceMs: options.gcGraceMs, fullEveryMs: options.fullInventoryMs })
  jobs.set(
    'inventory',
    periodic('inventory', reconcile, { everyMs: options.inventoryMs, firstDelayMs: 0, log: app.log }),
  )
  jobs.set(
    'scrub',
    periodic('scrub', () => scrubAll(service, options.scrubRate), { everyMs: options.scrubMs, log: app.log }),
  )
  jobs.set('renewal', keepRenewed(app, live, joining, options.renewEveryMs))

  return {
    url,
    close: async () => {
      stopped = true
      clearTimeout(timer)
      await Promise.all([...jobs.values()].map((job) => job.stop()))
      await app.close()
      await agent.close()
    },
  }
}
