// File bytes (and long polls) between the CLI and its proxy over node:https, trusting only the cluster
// CA. The CLI uses Node's built-in client rather than undici's package to keep its own footprint
// small (a transfer must fit, with the program itself, in 150 MB), and because fetch would cut a
// long wait for a lock short with its own header timeout.

import type { IncomingMessage } from 'node:http'
import { request } from 'node:https'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DfsError, fromErrorBody } from '../protocol/errors.ts'
import { networkFailure } from './network-failure.ts'

const MAX_JSON = 1024 * 1024

export function httpsRequest(
  method: 'GET' | 'PUT' | 'POST',
  url: string,
  options: { ca: string; headers: Record<string, string>; body?: Readable | string; what: string },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca: options.ca, headers: options.headers, agent: false })
    const fail = (error: Error) => reject(networkFailure(options.what, error))
    let answered = false
    req.once('response', (response) => {
      answered = true
      if ((response.statusCode ?? 500) >= 400) {
        readJson(response).then((body) => fail(fromErrorBody(body, response.statusCode ?? 500)), fail)
      } else {
        resolve(response)
      }
    })
    // Once the server has answered, a failure to send the rest of the body (it stopped reading, as
    // after an early error) is not the outcome: the answer is.
    req.on('error', (error) => {
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

export async function readJson(response: IncomingMessage): Promise<unknown> {
  let text = ''
  for await (const chunk of response) {
    text += (chunk as Buffer).toString()
    if (text.length > MAX_JSON) throw new DfsError('DFS_INTERNAL', 'answer too large')
  }
  try {
    return text === '' ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
}
