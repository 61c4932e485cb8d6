// Starts a proxy: a TLS identity for talking to the cluster and the user-facing HTTPS API.

import { DirectoryClient } from '../../client/directory-client.ts'
import { makeAgent } from '../../client/agent.ts'
import { listen } from '../../server/app.ts'
import { join } from 'node:path'
import { systemClock, systemRandom } from '../../server/clock.ts'
import type { Running } from '../../server/lifecycle.ts'
import { reason } from '../../server/logger.ts'
import { keepRenewed } from '../../server/renewal.ts'
import { memberIdentity, type MemberOptions } from '../member.ts'
import { buildProxyApp } from './app.ts'
import { BlobCache } from './blob-cache.ts'
import { ChangeFeed } from './change-feed.ts'
import { ProxyService } from './service.ts'

export interface ProxyOptions extends MemberOptions {
  cacheBytes: number
  webdav?: boolean
  /** The web dashboard at /ui/ (default on). */
  ui?: boolean
}

export async function startProxy(options: ProxyOptions): Promise<Running> {
  const { live, join: joining } = await memberIdentity(options, 'proxy')
  const agent = makeAgent(live)
  const cache = new BlobCache(
    join(options.root, `proxy-${options.id}`, 'cache'),
    options.cacheBytes,
    systemClock,
  )
  await cache.open()
  // The app's logger, once the app exists: failover logs only once calls are being made.
  const log = { warn: (obj: object, message: string) => app.log.warn(obj, message) }
  const directory = new DirectoryClient(options.directories, agent, { log })
  const service = new ProxyService({
    id: options.id,
    directory,
    agent,
    cache,
    clock: systemClock,
    random: systemRandom,
    log,
  })
  const feed = new ChangeFeed(directory.failover, agent, systemClock)
  const app = buildProxyApp(service, {
    tls: live.current,
    changeFeed: feed,
    webdav: options.webdav ?? false,
    ui: options.ui ?? true,
  })
  feed.on('change', (event) => service.changed(event))
  feed.on('resync', () => service.resynced())
  feed.on('epoch', (epoch) => service.promise.epochSeen(epoch))
  feed.on('position', (seq) => service.promise.connect(seq))
  feed.on('lost', (error, from) => {
    service.feedLost()
    app.log.warn({ err: error }, `change feed from ${from} lost: ${reason(error)}; retrying`)
  })
  feed.on('back', (from) => app.log.warn(`change feed from ${from} is back`))
  feed.start()
  // A proxy that cannot listen stops what it started, so the process ends with the error.
  const url = await listen(app, options.host, options.port, options.advertise).catch(
    async (error: unknown) => {
      feed.stop()
      service.promise.stop()
      await app.close().catch(() => undefined)
      await agent.close().catch(() => undefined)
      cache.close()
      throw error
    },
  )
  const renewal = keepRenewed(app, live, joining, options.renewEveryMs)
  return {
    url,
    close: async () => {
      await renewal.stop()
      feed.stop()
      service.promise.stop()
      await app.close()
      await agent.close()
      cache.close()
    },
  }
}
