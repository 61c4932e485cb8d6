// File bytes (and long polls) between the CLI and its proxy over node:https, trusting only the cluster
// CA. The CLI uses Node's built-in client rather than undici's package to keep its own footprint
// small (a transfer must fit, with the program itself, in 150 MB), and because fetch would cut a
// long wait for a lock short with its own header timeout.

import type { IncomingMessage } from 'node:http'
import { request, type Agent } from 'node:https'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DfsError, fromErrorBody } from '../protocol/errors.ts'
import { boundedText } from '../streams/bounded-text.ts'
import { networkFailure } from './network-failure.ts'

const MAX_JSON = 1024 * 1024

export function httpsRequest(
  method: 'GET' | 'PUT' | 'POST',
  url: string,
  options: {
    ca: string
    headers: Record<string, string>
    body?: Readable | string
    what: string
    /** Give up when the answer has not begun this long after the request (a JSON call); no limit by default. */
    timeoutMs?: number
    /** Connections kept open between the calls of one command; by default each call has its own. */
    agent?: Agent
  },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      ca: options.ca,
      headers: options.headers,
      agent: options.agent ?? false,
    })
    let answered = false
    const fail = (error: Error) => {
      // A kept connection the server closed as this call went out: the call never reached it, and a
      // body held whole can be sent again on a new connection (Node's documented race of keep-alive).
      if (!answered && req.reusedSocket && typeof options.body !== 'object' && isReset(error)) {
        httpsRequest(method, url, options).then(resolve, reject)
      } else {
        reject(networkFailure(options.what, error))
      }
    }
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => req.destroy(new NoAnswer()), options.timeoutMs).unref()
    req.once('response', (response) => {
      answered = true
      clearTimeout(timer)
      if ((response.statusCode ?? 500) >= 400) {
        readJson(response).then((body) => fail(fromErrorBody(body, response.statusCode ?? 500)), fail)
      } else {
        resolve(response)
      }
    })
    // Once the server has answered, a failure to send the rest of the body (it stopped reading, as
    // after an early error) is not the outcome: the answer is.
    req.on('error', (error) => {
      clearTimeout(timer)
      if (!answered) fail(error)
    })
    if (typeof options.body === 'string') {
      req.end(options.body)
    } else if (options.body) {
      // The proxy may answer (an error, say) before the body is sent; that answer is what counts.
      pipeline(options.body, req).catch(() => undefined)
    } else {
      req.end()
    }
  })
}

function isReset(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code
  return code === 'ECONNRESET' || code === 'EPIPE'
}

/** A call whose answer did not begin in its time; networkFailure says "no answer in time". */
class NoAnswer extends Error {
  override readonly name = 'TimeoutError'
  constructor() {
    super('no answer in time')
  }
}

/** A JSON answer, bounded (see streams/bounded-text.ts). */
export async function readJson(response: IncomingMessage): Promise<unknown> {
  const text = await boundedText(response, MAX_JSON)
  if (text === undefined) throw new DfsError('DFS_INTERNAL', 'answer too large')
  try {
    return text === '' ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
}
