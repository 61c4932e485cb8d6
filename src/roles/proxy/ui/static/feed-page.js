// @ts-check
// The live feed: the proxy's change stream (GET /v1/events), kept open while the user is logged
// in, whichever page is shown, so nothing is missed; it reconnects with a growing pause when cut.

import { describe } from './api.js'
import { byId, bytes, fill, row, time } from './dom.js'
import { readEvents } from './sse.js'

/** @typedef {import('./api-types.js').ChangeEvent} ChangeEvent */

const KEEP = 500

/**
 * Follows the feed until `signal` aborts; `onChange` for each change, after it is shown.
 * @param {AbortSignal} signal @param {(change: ChangeEvent) => void} onChange
 */
export async function followFeed(signal, onChange) {
  let pause = 1000
  while (!signal.aborted) {
    try {
      await readEvents('/v1/events', (event) => show(JSON.parse(event.data), onChange), {
        signal,
        onOpen: () => {
          pause = 1000
          setState('Connected: changes appear here as they happen.', 'connected')
        },
      })
      setState('The feed ended; connecting again…', 'reconnecting')
    } catch (error) {
      if (signal.aborted) return
      setState(`The feed is cut (${describe(error)}); trying again in ${pause / 1000} s…`, 'reconnecting')
    }
    await new Promise((resolve) => setTimeout(resolve, pause))
    pause = Math.min(30_000, pause * 2)
  }
}

/** @param {string} text @param {string} state */
function setState(text, state) {
  const element = byId('feed-state')
  element.dataset.state = state
  fill(element, text)
}

/** @param {ChangeEvent} change @param {(change: ChangeEvent) => void} onChange */
function show(change, onChange) {
  const body = /** @type {HTMLTableElement} */ (byId('feed-list')).tBodies[0]
  if (!body) return
  body.prepend(
    row(
      [
        time(change.at),
        change.type === 'put' ? 'written' : 'removed',
        change.name,
        `v${change.version}`,
        change.type === 'put' ? bytes(change.size) : '',
        change.writer,
      ],
      { 'data-name': change.name, 'data-type': change.type },
    ),
  )
  while (body.rows.length > KEEP) body.deleteRow(-1)
  onChange(change)
}
