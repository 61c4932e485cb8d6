// Starts a proxy: a TLS identity for talking to the cluster and the user-facing HTTPS API.

import { DirectoryClient } from '../../client/directory-client.ts'
import { makeAgent } from '../../client/agent.ts'
import { listen } from '../../server/app.ts'
import { systemClock } from '../../server/clock.ts'
import type { Running } from '../../server/lifecycle.ts'
import { nodeTls } from '../../tls/node-tls.ts'
import { hosts } from '../directory/run.ts'
import { buildProxyApp } from './app.ts'
import { ProxyService } from './service.ts'

export interface ProxyOptions {
  id: number
  root: string
  host: string
  port: number
  advertise?: string
  directory: string
}

export async function startProxy(options: ProxyOptions): Promise<Running> {
  const tls = await nodeTls({
    root: options.root,
    commonName: `dfs proxy ${options.id}`,
    onWaiting: (dir) =>
      process.stderr.write(
        `waiting for the cluster CA in ${dir} (start dfs directory with the same --data)\n`,
      ),
    hosts: hosts(options),
  })
  const agent = makeAgent(tls)
  const service = new ProxyService(
    options.id,
    new DirectoryClient(options.directory, agent),
    agent,
    systemClock,
  )
  const app = buildProxyApp(service, { tls })
  const url = await listen(app, options.host, options.port, options.advertise)
  return {
    url,
    close: async () => {
      await app.close()
      await agent.close()
    },
  }
}
