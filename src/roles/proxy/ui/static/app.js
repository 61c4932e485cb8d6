// @ts-check
// The dashboard's entry: logging in and out, which page shows (by the URL's #fragment, so the back
// button and bookmarks work), refreshing the page in view, and sampling /metrics for the rates chart.

import { describe, logIn, logOut, signedInUser, token, whenSignedOut } from './api.js'
import { showCluster } from './cluster-page.js'
import { byId, fill } from './dom.js'
import { followFeed } from './feed-page.js'
import { currentPrefix, showFiles, showMore, submitUpload } from './files-page.js'
import { parseMetrics, RateHistory } from './metrics.js'
import { runRepair, showRepair } from './repair-page.js'

const PAGES = ['cluster', 'files', 'repair', 'feed']
const REFRESH_MS = 2000

const rates = new RateHistory()
/** @type {AbortController | undefined} */
let session
/** @type {ReturnType<typeof setInterval> | undefined} */
let timer

function page() {
  const wanted = location.hash.slice(1)
  return PAGES.includes(wanted) ? wanted : 'cluster'
}

/** Refreshes what the page in view shows. */
async function refresh() {
  const shown = page()
  if (shown === 'cluster') await showCluster(rates)
  else if (shown === 'repair') await showRepair()
}

async function sampleMetrics() {
  try {
    const response = await fetch('/metrics', { cache: 'no-store' })
    if (response.ok) rates.add(Date.now(), parseMetrics(await response.text()))
  } catch {
    // A missed sample is a gap in the chart, nothing more.
  }
}

/** Shows one page and hides the others; `focus` moves the keyboard to its heading. @param {boolean} focus */
async function route(focus) {
  if (!token()) return showLogin()
  const shown = page()
  for (const id of PAGES) byId(id).hidden = id !== shown
  for (const link of byId('nav').querySelectorAll('a')) {
    if (link.getAttribute('href') === `#${shown}`) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  document.title = `${byId(`${shown}-title`).textContent ?? ''} — dfs`
  if (focus) byId(`${shown}-title`).focus()
  if (shown === 'files') await showFiles()
  else await refresh()
}

function showLogin() {
  stopSession()
  for (const id of PAGES) byId(id).hidden = true
  byId('nav').hidden = true
  byId('session').hidden = true
  byId('login-page').hidden = false
  document.title = 'Log in — dfs'
  byId('login-user').focus()
}

function startSession() {
  byId('login-page').hidden = true
  byId('nav').hidden = false
  byId('session').hidden = false
  fill(byId('whoami'), `Logged in as ${signedInUser() ?? ''}`)
  session = new AbortController()
  let filesStale = false
  void followFeed(session.signal, (change) => {
    // The folder in view is listed again, at most once a refresh, when something in it changed.
    if (page() === 'files' && change.name.startsWith(currentPrefix())) filesStale = true
  })
  void sampleMetrics()
  timer = setInterval(() => {
    void sampleMetrics()
    void refresh()
    if (filesStale) {
      filesStale = false
      void showFiles()
    }
  }, REFRESH_MS)
}

function stopSession() {
  session?.abort()
  session = undefined
  if (timer !== undefined) clearInterval(timer)
  timer = undefined
}

/** @param {SubmitEvent} event */
async function submitLogin(event) {
  event.preventDefault()
  const user = /** @type {HTMLInputElement} */ (byId('login-user'))
  const password = /** @type {HTMLInputElement} */ (byId('login-password'))
  const error = byId('login-error')
  fill(error)
  try {
    await logIn(user.value, password.value)
    password.value = ''
    startSession()
    await route(true)
  } catch (failure) {
    fill(error, `Could not log in: ${describe(failure)}`)
    password.focus()
  }
}

function main() {
  byId('login-form').addEventListener(
    'submit',
    (event) => void submitLogin(/** @type {SubmitEvent} */ (event)),
  )
  byId('logout').addEventListener('click', () => void logOut().finally(showLogin))
  byId('upload-form').addEventListener(
    'submit',
    (event) => void submitUpload(/** @type {SubmitEvent} */ (event)),
  )
  byId('listing-more').addEventListener('click', () => void showMore())
  byId('repair-run').addEventListener('click', () => void runRepair())
  whenSignedOut(() => {
    fill(byId('login-error'), 'Your session ended: log in again.')
    showLogin()
  })
  addEventListener('hashchange', () => void route(true))
  if (token()) startSession()
  void route(false)
}

main()
