// @ts-check
// Server-sent events read with fetch(), because EventSource cannot send the Authorization header:
// the token stays in a header, out of URLs and so out of every log. Parses the event stream format
// (WHATWG HTML, "Parsing an event stream") as it arrives.

import { authHeaders, errorOf } from './api.js'

/** @typedef {{ event: string, data: string, id?: string }} StreamEvent */

/**
 * Reads the stream at `path` until it ends or `signal` aborts, handing each event to `onEvent`;
 * `onOpen` once the proxy has answered.
 * @param {string} path @param {(event: StreamEvent) => void} onEvent
 * @param {{ signal: AbortSignal, onOpen?: () => void }} options
 */
export async function readEvents(path, onEvent, options) {
  const response = await fetch(path, {
    headers: { ...authHeaders(), accept: 'text/event-stream' },
    cache: 'no-store',
    signal: options.signal,
  })
  if (!response.ok || !response.body) throw await errorOf(response)
  options.onOpen?.()
  const parser = eventParser(onEvent)
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    parser(value)
  }
}

/**
 * A function fed the stream's text in pieces of any size, calling `onEvent` for each complete event.
 * @param {(event: StreamEvent) => void} onEvent
 */
export function eventParser(onEvent) {
  let pending = ''
  /** @type {string[]} */
  let data = []
  let event = ''
  /** @type {string | undefined} */
  let id
  /** @param {string} line */
  const take = (line) => {
    if (line === '') {
      if (data.length > 0)
        onEvent({ event: event || 'message', data: data.join('\n'), ...(id ? { id } : {}) })
      data = []
      event = ''
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
    else if (field === 'id') id = value
  }
  return (/** @type {string} */ text) => {
    pending += text
    // A line ends at LF, CR LF or CR; a CR at the very end may be the first half of a CR LF.
    const lines = pending.split(/\r\n|\n|\r(?!$)/)
    pending = lines.pop() ?? ''
    for (const line of lines) take(line)
  }
}
