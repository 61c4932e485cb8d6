// @ts-check
// The Cluster page: the directory, the file servers (state, free space, what each holds, their
// background jobs) and the proxies, as `dfs status` and `dfs node list` show them, and the charts.

import { ApiError, describe, request } from './api.js'
import { barChart, lineChart } from './charts.js'
import { ago, byId, bytes, fill, h, row, time } from './dom.js'
import { RATES, WINDOW_MS } from './metrics.js'

/**
 * @typedef {import('./api-types.js').ProxyStatus} ProxyStatus
 * @typedef {import('./api-types.js').ServerView} ServerView
 * @typedef {import('./api-types.js').NodeView} NodeView
 * @typedef {import('./metrics.js').RateHistory} RateHistory
 */

/** A file server's state in one word, as `dfs status` says it. @param {ServerView} s */
export function serverState(s) {
  const state = s.live ? 'live' : s.dead ? 'dead' : 'down'
  const extra = [s.draining ? 'draining' : '', s.unreachable ? 'unreachable' : ''].filter(Boolean)
  return extra.length > 0 ? `${state} (${extra.join(', ')})` : state
}

/** "1 file", "2 files". @param {number} n @param {string} noun */
function plural(n, noun) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

/** Admin-only routes answer DFS_FORBIDDEN to others: the page shows less instead of failing. */
async function nodesIfAllowed() {
  try {
    return /** @type {NodeView[]} */ (await request('GET', '/v1/nodes'))
  } catch (error) {
    if (error instanceof ApiError && error.code === 'DFS_FORBIDDEN') return undefined
    throw error
  }
}

/** Fetches and shows the page. @param {RateHistory} rates */
export async function showCluster(rates) {
  try {
    const [status, nodes] = await Promise.all([
      /** @type {Promise<ProxyStatus>} */ (request('GET', '/v1/status')),
      nodesIfAllowed(),
    ])
    renderSummary(status)
    renderServers(status, nodes)
    renderProxies(status, nodes)
    fill(byId('cluster-error'))
  } catch (error) {
    fill(byId('cluster-error'), `Could not read the cluster's state: ${describe(error)}`)
  }
  renderRates(rates)
}

/** @param {ProxyStatus} status */
function renderSummary(status) {
  const live = status.servers.filter((s) => s.live).length
  fill(
    byId('cluster-summary'),
    `${plural(status.files, 'file')}, ${bytes(status.bytes)}; ${live} of ${status.servers.length} file servers live; ${status.replicas} copies of each file (a write needs ${status.minCopies}).`,
  )
  const feed = status.proxy.changeFeed
  const directories = status.proxy.directories ?? []
  const facts = [
    ['In use', status.proxy.directory ?? 'this proxy does not say'],
    ['All directories', directories.join(', ') || '—'],
    [
      'Change feed',
      feed.connected ? 'connected' : `not connected${feed.lastError ? `: ${feed.lastError.message}` : ''}`,
    ],
    ['Repair', `${status.repair.underReplicated} under-replicated, last pass ${ago(status.repair.lastPass)}`],
  ]
  fill(byId('directory-info'), ...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]))
}

/** @param {ProxyStatus} status @param {NodeView[] | undefined} nodes */
function renderServers(status, nodes) {
  const holds = new Map((nodes ?? []).filter((n) => n.role === 'fileserver').map((n) => [n.id, n.holds]))
  const servers = [...status.servers].sort((a, b) => a.id - b.id)
  fill(
    byId('space-chart'),
    barChart(
      servers.map((s) => ({
        label: `file server ${s.id}`,
        value: s.freeBytes,
        text: `${bytes(s.freeBytes)} free${s.live ? '' : ` (${serverState(s)})`}`,
        tone: s.live ? 'ok' : 'bad',
      })),
      'Free space per file server',
    ),
  )
  const body = /** @type {HTMLTableElement} */ (byId('servers')).tBodies[0]
  if (!body) return
  fill(
    body,
    ...servers.map((s) => {
      const held = holds.get(s.id)
      return row(
        [
          `file server ${s.id}`,
          h('span', { class: `state ${s.live ? 'ok' : 'bad'}` }, serverState(s)),
          bytes(s.freeBytes),
          held === undefined ? (nodes ? '—' : 'admins see this') : plural(held, 'version'),
          h('span', { title: new Date(s.lastHeartbeat).toLocaleString() }, ago(s.lastHeartbeat)),
          s.url,
          jobSummary(s.jobs ?? {}),
        ],
        { 'data-server': s.id, 'data-state': s.live ? 'live' : s.dead ? 'dead' : 'down' },
      )
    }),
  )
}

/** "inventory ok, scrub failed: …" @param {Record<string, import('./api-types.js').JobState>} jobs */
function jobSummary(jobs) {
  const parts = Object.entries(jobs).map(([name, job]) =>
    job.lastError && (job.lastOk ?? 0) < job.lastError.at
      ? `${name} failing: ${job.lastError.message}`
      : `${name} ok`,
  )
  return parts.join('; ') || '—'
}

/** @param {ProxyStatus} status @param {NodeView[] | undefined} nodes */
function renderProxies(status, nodes) {
  const cache = status.proxy.cache
  const cacheText = `${cache.entries} files, ${bytes(cache.bytes)} of ${bytes(cache.maxBytes)}`
  const proxies = (nodes ?? []).filter((n) => n.role === 'proxy')
  if (!proxies.some((p) => p.id === status.proxy.id))
    proxies.push({ role: 'proxy', id: status.proxy.id, certExpires: 0, revoked: false })
  proxies.sort((a, b) => a.id - b.id)
  const body = /** @type {HTMLTableElement} */ (byId('proxies')).tBodies[0]
  if (!body) return
  fill(
    body,
    ...proxies.map((p) =>
      row([
        `proxy ${p.id}${p.id === status.proxy.id ? ' (this one)' : ''}`,
        p.revoked ? 'removed' : 'member',
        p.certExpires ? time(p.certExpires) : '—',
        p.id === status.proxy.id ? cacheText : '—',
      ]),
    ),
  )
  fill(byId('proxies-note'), nodes ? '' : 'Only admins see the other proxies.')
}

/** @param {RateHistory} history */
function renderRates(history) {
  const now = Date.now()
  const series = RATES.map((r) => ({ label: r.label, tone: r.tone, points: history.rates(r.metric) }))
  const perSecond = (/** @type {number} */ v) => `${bytes(v)}/s`
  fill(
    byId('rate-chart'),
    lineChart(series, {
      from: now - WINDOW_MS,
      to: now,
      format: perSecond,
      summary: 'Transfer rates over the last 10 minutes',
    }),
  )
  fill(
    byId('rate-legend'),
    ...series.map((s) =>
      h(
        'li',
        { 'data-series': s.tone },
        h('span', { class: `swatch ${s.tone}`, 'aria-hidden': 'true' }),
        `${s.label}: ${perSecond(s.points.at(-1)?.v ?? 0)} now, peak ${perSecond(Math.max(0, ...s.points.map((p) => p.v)))}`,
      ),
    ),
  )
}
