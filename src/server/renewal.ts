// Keeps a running node's certificate fresh: a periodic check renews it when a third of its life is
// left, and the new one is used at once, by the HTTPS server for new connections and by the node's
// client agent (through LiveTls).

import type { Server as TlsServer } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import { serverIdentity, type LiveTls } from '../tls/live-tls.ts'
import { renewIfDue, type JoinOptions } from '../tls/node-tls.ts'
import { periodic, type Periodic } from './periodic.ts'

export function keepRenewed(
  app: FastifyInstance,
  live: LiveTls,
  join: JoinOptions,
  everyMs: number,
): Periodic {
  live.onChange((material) => (app.server as unknown as TlsServer).setSecureContext(serverIdentity(material)))
  return periodic(
    'certificate renewal',
    async () => {
      const renewed = await renewIfDue(join, live.current)
      if (!renewed) return
      live.update(renewed)
      app.log.warn('certificate renewed')
    },
    // At once, then every so often: a node that starts with an aging certificate renews it first.
    { everyMs, firstDelayMs: 0, log: app.log },
  )
}
