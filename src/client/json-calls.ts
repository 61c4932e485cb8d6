// One directory's JSON API as the DirectoryClient calls it: through ky over a `fetch` (route tests
// inject one), or straight over the nodes' mutual-TLS agent (agent.ts). The second
// makes the requests ky makes (JSON body, query, a timeout per call, the caller's signal) and fails
// with errors of the same shape as ky's (call-errors.ts: an answer's status and parsed body, a
// timeout, else the socket's own error), so the failover classifies both alike; it skips ky's WHATWG
// Request and Response and their web streams, which under many small writes cost a tenth of a
// proxy's and a file server's time for the two calls each write makes (placement, commit).

import type { KyInstance } from 'ky'
import { text as bodyText, type Answer, type NodeAgent } from './agent.ts'
import { AnswerError } from './call-errors.ts'

export type JsonMethod = 'get' | 'post' | 'delete'

export interface JsonCallOptions {
  json?: unknown
  searchParams?: Record<string, string | number | undefined>
  headers?: Record<string, string>
  /** ms until the answer's headers (default: the client's). */
  timeout?: number
  signal?: AbortSignal
}

export interface JsonClient {
  call<T>(method: JsonMethod, path: string, options: JsonCallOptions): Promise<T>
}

/** ky's calls, as they have always been made (any `fetch`). */
export function kyJsonClient(ky: KyInstance): JsonClient {
  return {
    call: <T>(method: JsonMethod, path: string, options: JsonCallOptions) =>
      ky[method](path, options).json<T>(),
  }
}

const METHODS = { get: 'GET', post: 'POST', delete: 'DELETE' } as const

/** The same calls over the nodes' agent, relative to `baseUrl` as ky resolves them. */
export function agentJsonClient(baseUrl: string, agent: NodeAgent, timeoutMs: number): JsonClient {
  return {
    async call<T>(method: JsonMethod, path: string, options: JsonCallOptions): Promise<T> {
      const url = new URL(path, baseUrl)
      for (const [key, value] of Object.entries(options.searchParams ?? {}))
        if (value !== undefined) url.searchParams.append(key, String(value))
      const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
      let body: string | undefined
      if (options.json !== undefined) {
        body = JSON.stringify(options.json)
        headers['content-type'] = 'application/json'
      }
      const timeout = options.timeout ?? timeoutMs
      const response = await agent.request(url, {
        method: METHODS[method],
        headers,
        body,
        signal: options.signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      })
      const text = await bodyText(response.body)
      if (response.statusCode >= 200 && response.statusCode < 300) return JSON.parse(text) as T
      throw httpError(url, METHODS[method], response, text)
    },
  }
}

/** The error for an answer that is not 2xx, with its body parsed as ky parses it. */
function httpError(url: URL, method: string, response: Answer, text: string): AnswerError {
  const type = String(response.headers['content-type'] ?? '')
  let data: unknown = text === '' ? undefined : text
  if (type.includes('json')) {
    try {
      data = JSON.parse(text)
    } catch {
      data = undefined
    }
  }
  return new AnswerError(response.statusCode, data, method, url)
}
