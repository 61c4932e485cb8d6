// The undici Agent servers use to talk to each other: pinned to the cluster CA, presenting this
// node's own certificate (mutual TLS), with keep-alive.

import { Agent } from 'undici'

export interface ClientTls {
  /** The cluster CA to trust. */
  ca: string
  /** Our own certificate and key, for mutual TLS between roles. */
  cert?: string
  key?: string
}

export function makeAgent(tls: ClientTls): Agent {
  return new Agent({
    connect: { ca: tls.ca, cert: tls.cert, key: tls.key },
    keepAliveTimeout: 10_000,
    connectTimeout: 5_000,
    // Answers may be long polls (waiting for a lease); each call sets its own timeout instead.
    headersTimeout: 0,
    // Long transfers are bounded by progress, not by total time.
    bodyTimeout: 120_000,
  })
}
