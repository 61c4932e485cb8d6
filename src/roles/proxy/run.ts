// Starts a proxy: a TLS identity for talking to the cluster and the user-facing HTTPS API.

import { DirectoryClient } from '../../client/directory-client.ts'
import { makeAgent } from '../../client/agent.ts'
import { listen } from '../../server/app.ts'
import { join } from 'node:path'
import { systemClock, systemRandom } from '../../server/clock.ts'
import type { Running } from '../../server/lifecycle.ts'
import { reason } from '../../server/logger.ts'
import { memberTls } from '../../tls/node-tls.ts'
import type { OwnPkiFiles } from '../../tls/own-pki.ts'
import { hosts } from '../directory/run.ts'
import { buildProxyApp } from './app.ts'
import { BlobCache } from './blob-cache.ts'
import { ChangeFeed } from './change-feed.ts'
import { ProxyService } from './service.ts'

export interface ProxyOptions {
  id: number
  root: string
  host: string
  port: number
  advertise?: string
  directory: string
  /** A join token, for the first start on a host without the directory's data root. */
  join?: string
  /** The operator's own CA and certificate for this node, instead of joining. */
  ownPki?: OwnPkiFiles
  cacheBytes: number
}

export async function startProxy(options: ProxyOptions): Promise<Running> {
  const tls = await memberTls({
    root: options.root,
    identity: { role: 'proxy', id: options.id },
    directory: options.directory,
    token: options.join,
    ownPki: options.ownPki,
    hosts: hosts(options),
    onWaiting: (why) => process.stderr.write(`${why}\n`),
  })
  const agent = makeAgent(tls)
  const cache = new BlobCache(
    join(options.root, `proxy-${options.id}`, 'cache'),
    options.cacheBytes,
    systemClock,
  )
  await cache.open()
  const service = new ProxyService({
    id: options.id,
    directory: new DirectoryClient(options.directory, agent),
    agent,
    cache,
    clock: systemClock,
    random: systemRandom,
  })
  const feed = new ChangeFeed(options.directory, agent, systemClock)
  const app = buildProxyApp(service, { tls, changeFeed: feed })
  feed.on('change', (event) => service.changed(event))
  feed.on('lost', (error) =>
    app.log.warn({ err: error }, `change feed from ${options.directory} lost: ${reason(error)}; retrying`),
  )
  feed.on('back', () => app.log.warn(`change feed from ${options.directory} is back`))
  feed.start()
  const url = await listen(app, options.host, options.port, options.advertise)
  return {
    url,
    close: async () => {
      feed.stop()
      await app.close()
      await agent.close()
      cache.close()
    },
  }
}
