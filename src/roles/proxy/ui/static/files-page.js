// @ts-check
// The Files page: one folder level at a time (GET /v1/list with delimiter=/), downloads, uploads with
// progress, and for a chosen file its lock (who holds it, how many wait) and versions, with restore.

import { describe, request, withQuery } from './api.js'
import { ago, byId, bytes, fill, h, row, time } from './dom.js'
import { upload } from './upload.js'

/**
 * @typedef {import('./api-types.js').FileVersion} FileVersion
 * @typedef {import('./api-types.js').ListPage} ListPage
 * @typedef {import('./api-types.js').Located} Located
 */

const PAGE = 200

const state = {
  prefix: '',
  /** @type {string | undefined} */
  next: undefined,
  /** @type {string | undefined} */
  selected: undefined,
}

/** The folder shown, for the live feed to know whether a change is in view. */
export function currentPrefix() {
  return state.prefix
}

/** Shows the folder `prefix` ('' the top, else ending in '/'), from its first page. @param {string} prefix */
export async function showFiles(prefix = state.prefix) {
  state.prefix = prefix
  state.next = undefined
  renderBreadcrumbs()
  const body = listingBody()
  try {
    const page = await listPage()
    fill(body)
    appendPage(page)
    fill(byId('files-error'))
  } catch (error) {
    fill(byId('files-error'), `Could not list ${prefix || 'the top folder'}: ${describe(error)}`)
  }
  if (state.selected) await showDetails(state.selected, { focus: false })
}

function listingBody() {
  const body = /** @type {HTMLTableElement} */ (byId('listing')).tBodies[0]
  if (!body) throw new Error('the listing has no body')
  return body
}

/** @returns {Promise<ListPage>} */
function listPage() {
  return request(
    'GET',
    withQuery('/v1/list', { prefix: state.prefix, delimiter: '/', limit: PAGE, after: state.next }),
  )
}

/** @param {ListPage} page */
function appendPage(page) {
  const body = listingBody()
  for (const prefix of page.prefixes ?? []) body.append(folderRow(prefix))
  for (const file of page.files) body.append(fileRow(file))
  state.next = page.next
  const more = /** @type {HTMLButtonElement} */ (byId('listing-more'))
  more.hidden = page.next === undefined
  const count = body.rows.length
  fill(
    byId('listing-caption'),
    `${count}${page.next ? '+' : ''} entries in ${state.prefix || 'the top folder'}`,
  )
}

export async function showMore() {
  try {
    appendPage(await listPage())
  } catch (error) {
    fill(byId('files-error'), `Could not list more: ${describe(error)}`)
  }
}

/** The last part of a name or prefix: what a person calls it in its folder. @param {string} name */
function leaf(name) {
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name
  return trimmed.slice(trimmed.lastIndexOf('/') + 1) + (name.endsWith('/') ? '/' : '')
}

/** @param {string} prefix */
function folderRow(prefix) {
  const open = h(
    'button',
    { type: 'button', class: 'link', onclick: () => void showFiles(prefix) },
    leaf(prefix),
  )
  return row([open, 'folder', '', '', '', ''], { 'data-prefix': prefix })
}

/** @param {FileVersion} file */
function fileRow(file) {
  const name = h(
    'button',
    { type: 'button', class: 'link', onclick: () => void showDetails(file.name) },
    leaf(file.name),
  )
  const get = h(
    'button',
    { type: 'button', onclick: () => void download(file.name) },
    'Download',
    h('span', { class: 'visually-hidden' }, ` ${file.name}`),
  )
  return row([name, bytes(file.size), `v${file.version}`, time(file.mtime), file.writer, get], {
    'data-name': file.name,
  })
}

function renderBreadcrumbs() {
  const parts = state.prefix.split('/').filter(Boolean)
  const crumbs = [h('li', {}, crumb('top', ''))]
  parts.forEach((part, i) => crumbs.push(h('li', {}, crumb(part, `${parts.slice(0, i + 1).join('/')}/`))))
  fill(byId('breadcrumbs'), h('ol', {}, ...crumbs))
}

/** @param {string} label @param {string} prefix */
function crumb(label, prefix) {
  if (prefix === state.prefix) return h('span', { 'aria-current': 'location' }, label)
  return h('button', { type: 'button', class: 'link', onclick: () => void showFiles(prefix) }, label)
}

/**
 * Downloads straight to disk: the page asks for a one-use link with its bearer token (the token goes
 * in a header, never a URL), and the browser follows the link as any download, writing the bytes as
 * they arrive; none of them pass through the page. The link is spent by that one use and good for a
 * minute at most.
 * @param {string} name
 */
export async function download(name) {
  try {
    /** @type {{ url: string }} */
    const { url } = await request('POST', '/v1/download-tickets', { body: { name } })
    const link = h('a', { href: url, download: leaf(name), hidden: true })
    document.body.append(link)
    link.click()
    link.remove()
  } catch (error) {
    fill(byId('files-error'), `Could not download ${name}: ${describe(error)}`)
  }
}

/** The chosen file: its facts, lock and versions. @param {string} name @param {{ focus?: boolean }} [options] */
export async function showDetails(name, options = {}) {
  state.selected = name
  const section = byId('details')
  section.hidden = false
  const title = byId('details-title')
  fill(title, name)
  try {
    const [located, versions] = await Promise.all([
      /** @type {Promise<Located>} */ (request('GET', withQuery('/v1/stat', { name }))),
      /** @type {Promise<FileVersion[]>} */ (request('GET', withQuery('/v1/versions', { name }))),
    ])
    renderFacts(located)
    renderVersions(located, versions)
  } catch (error) {
    fill(byId('details-facts'), h('dt', {}, 'Error'), h('dd', {}, describe(error)))
  }
  if (options.focus !== false) title.focus()
}

/** @param {Located} file */
function renderFacts(file) {
  const lock = file.lock
  const lockText = lock
    ? `held by ${lock.user} (proxy ${lock.proxy}) since ${ago(lock.since)}, expires in ${Math.max(0, Math.round((lock.expires - Date.now()) / 1000))} s; ${lock.waiting} waiting`
    : 'not locked'
  const facts = [
    ['Size', bytes(file.size)],
    ['Version', `v${file.version}`],
    ['sha256', h('code', {}, file.sha256)],
    [
      'Held by',
      file.holders.map((id) => `file server ${id}${id === file.primary ? ' (primary)' : ''}`).join(', '),
    ],
    [
      'Owner',
      `${file.owner ?? '—'}, group ${file.group ?? '—'}, mode ${file.mode === undefined ? '—' : file.mode.toString(8)}`,
    ],
    ['Lock', h('span', { id: 'details-lock' }, lockText)],
  ]
  fill(byId('details-facts'), ...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]))
}

/** @param {Located} current @param {FileVersion[]} versions */
function renderVersions(current, versions) {
  const body = /** @type {HTMLTableElement} */ (byId('versions')).tBodies[0]
  if (!body) return
  fill(
    body,
    ...versions.map((v) =>
      row(
        [
          `v${v.version}${v.version === current.version ? ' (current)' : ''}`,
          bytes(v.size),
          time(v.mtime),
          v.writer,
          h('code', { title: v.sha256 }, v.sha256.slice(0, 12)),
          v.version === current.version
            ? ''
            : h(
                'button',
                { type: 'button', onclick: () => void restore(current.name, v.version) },
                `Restore v${v.version}`,
              ),
        ],
        { 'data-version': v.version },
      ),
    ),
  )
}

/** @param {string} name @param {number} version */
async function restore(name, version) {
  const status = byId('versions-status')
  try {
    /** @type {FileVersion} */
    const restored = await request('POST', '/v1/restore', { body: { name, version } })
    fill(status, `Restored v${version} of ${name} as v${restored.version}.`)
  } catch (error) {
    fill(status, `Could not restore v${version}: ${describe(error)}`)
  }
  await showDetails(name, { focus: false })
}

/** The upload form's submit. @param {SubmitEvent} event */
export async function submitUpload(event) {
  event.preventDefault()
  const input = /** @type {HTMLInputElement} */ (byId('upload-file'))
  const file = input.files?.[0]
  if (!file) return
  const given = /** @type {HTMLInputElement} */ (byId('upload-name')).value.trim()
  const name = `${state.prefix}${given || file.name}`
  const replace = /** @type {HTMLInputElement} */ (byId('upload-replace')).checked
  const progress = /** @type {HTMLProgressElement} */ (byId('upload-progress'))
  const status = byId('upload-status')
  progress.hidden = false
  progress.value = 0
  fill(status, `Uploading ${name}…`)
  try {
    const version = await upload(name, file, {
      replace,
      onProgress: (sent, total) => {
        progress.value = total > 0 ? sent / total : 1
        fill(status, `Uploading ${name}: ${bytes(sent)} of ${bytes(total)}`)
      },
    })
    progress.value = 1
    fill(status, `Uploaded ${version.name} as v${version.version} (${bytes(version.size)}).`)
    const form = /** @type {HTMLFormElement} */ (byId('upload-form'))
    form.reset()
    await showFiles()
  } catch (error) {
    fill(status, `Could not upload ${name}: ${describe(error)}`)
  }
}
