// The tests' own HTTPS client is undici, apart from the nodes' (node:https, src/client/agent.ts): an
// Agent that trusts the cluster CA and, given a node's certificate, presents it (mutual TLS).

import { Agent } from 'undici'

export function undiciAgent(tls: { ca: string; cert?: string; key?: string }): Agent {
  return new Agent({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key } })
}
