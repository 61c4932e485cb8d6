// File bytes between the nodes over HTTPS (agent.ts): bodies stream both ways with backpressure and
// are never buffered whole.

import type { Readable } from 'node:stream'
import { text as bodyText, type Answer, type NodeAgent } from './agent.ts'
import { fromErrorBody } from '../protocol/errors.ts'
import { networkFailure } from './network-failure.ts'

/** Sends a stream as the body of a PUT and returns the JSON answer. */
export async function putStream<T>(
  agent: NodeAgent,
  url: string,
  body: Readable,
  headers: Record<string, string>,
  what: string,
  signal?: AbortSignal,
): Promise<T> {
  let response: Answer
  try {
    response = await agent.request(url, {
      method: 'PUT',
      body,
      headers: { 'content-type': 'application/octet-stream', ...headers },
      signal,
    })
  } catch (error) {
    throw networkFailure(what, error, `PUT ${url}`)
  }
  return (await readJson(response, what)) as T
}

/** Starts a GET and returns the response once headers arrive; a non-2xx answer becomes a DfsError. */
export async function getStream(
  agent: NodeAgent,
  url: string,
  headers: Record<string, string>,
  what: string,
  signal?: AbortSignal,
): Promise<Answer> {
  let response: Answer
  try {
    response = await agent.request(url, { method: 'GET', headers, signal })
  } catch (error) {
    throw networkFailure(what, error, `GET ${url}`)
  }
  if (response.statusCode >= 400) await readJson(response, what)
  return response
}

/** Reads a JSON body (bounded: these are small answers, never file bytes) or throws its error. */
export async function readJson(response: Answer, what: string): Promise<unknown> {
  let text: string
  try {
    text = await bodyText(response.body)
  } catch (error) {
    throw networkFailure(what, error)
  }
  let body: unknown
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    body = undefined
  }
  if (response.statusCode >= 400) throw fromErrorBody(body, response.statusCode)
  return body
}
