// The undici Agent servers use to talk to each other: pinned to the cluster CA, presenting this
// node's own certificate (mutual TLS), with keep-alive. Given a LiveTls, new connections use the
// certificate it holds now (renewed while the node runs).

import { Agent, buildConnector } from './undici.ts'
import { LiveTls } from '../tls/live-tls.ts'

export interface ClientTls {
  /** The cluster CA to trust. */
  ca: string
  /** Our own certificate and key, for mutual TLS between roles. */
  cert?: string
  key?: string
}

const CONNECT_TIMEOUT_MS = 5_000

export function makeAgent(tls: ClientTls | LiveTls): Agent {
  const connector = (material: ClientTls) =>
    buildConnector({ ca: material.ca, cert: material.cert, key: material.key, timeout: CONNECT_TIMEOUT_MS })
  let connect = connector(tls instanceof LiveTls ? tls.current : tls)
  if (tls instanceof LiveTls) tls.onChange((material) => (connect = connector(material)))
  return new Agent({
    connect: (options, callback) => connect(options, callback),
    keepAliveTimeout: 10_000,
    // Answers may be long polls (waiting for a lease); each call sets its own timeout instead.
    headersTimeout: 0,
    // Long transfers are bounded by progress, not by total time.
    bodyTimeout: 120_000,
  })
}
