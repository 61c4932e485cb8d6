// JSON calls between dfs roles and from the CLI: ky over the global fetch (servers hand it their
// mutual-TLS dispatcher; the CLI trusts the cluster CA process-wide), and one mapping from transport
// and HTTP failures to DfsError. File bytes never go through ky: its retry clone buffers whole bodies.

import ky, { HTTPError, type KyInstance, type Options } from 'ky'
import type { Dispatcher } from 'undici'
import { DfsError, fromErrorBody } from '../protocol/errors.ts'

/** A ky instance bound to one base URL (and, for servers, one TLS identity); JSON only. */
export function jsonClient(
  baseUrl: string,
  dispatcher?: Dispatcher,
  headers: Record<string, string> = {},
): KyInstance {
  const options: Options = { baseUrl, headers, retry: 0, timeout: 30_000 }
  if (dispatcher) options.fetch = (input, init) => fetch(input, { ...init, dispatcher } as RequestInit)
  return ky.create(options)
}

/** Performs a ky call and returns its JSON, turning every failure into a DfsError. */
export async function call<T>(promise: () => Promise<T>, what: string): Promise<T> {
  try {
    return await promise()
  } catch (error) {
    throw toDfsError(error, what)
  }
}

export function toDfsError(error: unknown, what: string): DfsError {
  if (error instanceof DfsError) return error
  // ky has already read and parsed the error body into `data`.
  if (error instanceof HTTPError) return fromErrorBody(error.data, error.response.status)
  const cause = error instanceof Error ? describeNetworkError(error) : String(error)
  return new DfsError('DFS_UNAVAILABLE', `${what}: ${cause}`, { cause: error })
}

/** Finds the useful part of a fetch failure (fetch wraps the socket error in 'fetch failed'). */
export function describeNetworkError(error: Error): string {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code
    if (code) return `${code} ${current.message}`.trim()
    current = current.cause
  }
  return error.message
}
