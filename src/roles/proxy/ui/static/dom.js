// @ts-check
// Building the page from data. Text goes in as text nodes, never as markup, so a file name with
// `<`, quotes or anything else shows as itself and cannot become an element or a script.

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | undefined | ((event: Event) => void)>} Attributes
 */

/**
 * An element: `attrs` are attributes (`on*` are listeners, `true` an empty attribute, false or
 * undefined none), `children` text or nodes.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {Attributes} [attrs] @param {Child[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (typeof value === 'function') element.addEventListener(key.slice(2), value)
    else if (value === true) element.setAttribute(key, '')
    else if (value !== false && value !== undefined) element.setAttribute(key, String(value))
  }
  append(element, children)
  return element
}

/** @param {Element} parent @param {Child[]} children */
export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/** Replaces everything in `parent` with `children`. @param {Element} parent @param {Child[]} children */
export function fill(parent, ...children) {
  parent.replaceChildren()
  append(parent, children)
}

/** The element with this id, which the page must have. @param {string} id */
export function byId(id) {
  const element = document.getElementById(id)
  if (!element) throw new Error(`the page has no #${id}`)
  return element
}

/** A table row of cells; a first string cell is the row's header. @param {Child[]} cells @param {Attributes} [attrs] */
export function row(cells, attrs = {}) {
  return h(
    'tr',
    attrs,
    ...cells.map((cell, i) => (i === 0 ? h('th', { scope: 'row' }, cell) : h('td', {}, cell))),
  )
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** 1536 → "1.5 KiB". @param {number} n */
export function bytes(n) {
  let value = n
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`
}

/** A moment as local date and time, in a <time> element. @param {number} ms */
export function time(ms) {
  if (!ms) return h('span', {}, 'never')
  const at = new Date(ms)
  return h('time', { datetime: at.toISOString() }, at.toLocaleString())
}

/** How long ago, roughly: "4 s ago". @param {number} ms @param {number} [now] */
export function ago(ms, now = Date.now()) {
  if (!ms) return 'never'
  const seconds = Math.max(0, Math.round((now - ms) / 1000))
  if (seconds < 120) return `${seconds} s ago`
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`
  return `${Math.round(seconds / 3600)} h ago`
}
