// The parts of undici the nodes use (Agent, request(), a TLS connector), taken from its own modules
// rather than its index. The index loads all of undici (fetch, WebSocket, EventSource, caches,
// cookies, mocks), and its cookie code reads a global that loads Node's built-in copy of undici as
// well: a role's RSS at start was 22 MB more with the index than with node:https alone, 8.5 MB more
// with these modules. undici has no "exports" map, so its modules are the package's own files.

import type * as Undici from 'undici'
import AgentModule from 'undici/lib/dispatcher/agent.js'
import api from 'undici/lib/api/index.js'
import connectModule from 'undici/lib/core/connect.js'

export type { Dispatcher } from 'undici'

export const Agent = AgentModule as unknown as typeof Undici.Agent
export type Agent = Undici.Agent

export const buildConnector = connectModule as unknown as typeof Undici.buildConnector

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  method?: Undici.Dispatcher.HttpMethod
  dispatcher: Undici.Dispatcher
}

/** undici's request(url, options), always with a dispatcher of the caller's. */
export function request(url: string | URL, options: RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options
  const parsed = typeof url === 'string' ? new URL(url) : url
  const send = (
    api as { request: (this: Undici.Dispatcher, opts: Undici.Dispatcher.RequestOptions) => unknown }
  ).request
  return send.call(dispatcher, {
    ...rest,
    origin: parsed.origin,
    path: `${parsed.pathname}${parsed.search}`,
    method: options.method ?? (options.body ? 'PUT' : 'GET'),
  }) as Promise<Undici.Dispatcher.ResponseData>
}
