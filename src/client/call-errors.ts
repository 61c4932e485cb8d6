// How a JSON call fails short of a transport error, in one shape whichever client made it: ky (the
// CLI's calls) and the nodes' own calls over their agent (json-calls.ts). The nodes have no use for ky, whose
// module builds a WHATWG Request as it loads, and whose HTTPError holds a WHATWG Request and
// Response, which the nodes built for every answer that was not 2xx (a name not found, a conflict).
// So they throw errors of their own here, and ky's are known by shape, not class, so that this
// module does not load ky either.

import { DfsError, fromErrorBody } from '../protocol/errors.ts'
import { networkFailure } from './network-failure.ts'

/** A call answered with a status that is not 2xx; `data` is its body, parsed if it was JSON. */
export class AnswerError extends Error {
  // ky's name for the same, which logs and network-failure.ts go by.
  override readonly name = 'HTTPError'
  readonly status: number
  readonly data: unknown

  constructor(status: number, data: unknown, method: string, url: URL) {
    super(`Request failed with status code ${status}: ${method} ${url.href}`)
    this.status = status
    this.data = data
  }
}

/** A call whose answer did not come in its time. */
export class CallTimeout extends Error {
  override readonly name = 'TimeoutError'
}

/** The status and body of an answer that is not 2xx (an AnswerError or ky's HTTPError). */
export function answerOf(error: unknown): { status: number; data: unknown } | undefined {
  if (error instanceof AnswerError) return { status: error.status, data: error.data }
  if (!(error instanceof Error) || error.name !== 'HTTPError') return undefined
  const { response, data } = error as Error & { response?: { status?: unknown }; data?: unknown }
  return typeof response?.status === 'number' ? { status: response.status, data } : undefined
}

/**
 * A call's own timeout (a CallTimeout or ky's TimeoutError, which names its request); not a
 * caller's AbortSignal.timeout(), whose DOMException has the same name.
 */
export function isCallTimeout(error: unknown): boolean {
  return (
    error instanceof CallTimeout ||
    (error instanceof Error && error.name === 'TimeoutError' && 'request' in error)
  )
}

/** Performs a JSON call and returns its answer, turning every failure into a DfsError. */
export async function call<T>(promise: () => Promise<T>, what: string): Promise<T> {
  try {
    return await promise()
  } catch (error) {
    throw toDfsError(error, what)
  }
}

function toDfsError(error: unknown, what: string): DfsError {
  if (error instanceof DfsError) return error
  // Both clients have read and parsed the error body already.
  const answer = answerOf(error)
  if (answer) return fromErrorBody(answer.data, answer.status)
  return networkFailure(what, error)
}
