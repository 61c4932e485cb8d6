// @ts-check
// The Repair and scrub page: how many versions lack copies, the repair queue (what the next passes
// would copy, and what waits), what left the queue while the page was open, bad copies reported,
// and each file server's scrub and inventory.

import { ApiError, describe, request } from './api.js'
import { ago, byId, bytes, fill, h, row, time } from './dom.js'

/**
 * @typedef {import('./api-types.js').ProxyStatus} ProxyStatus
 * @typedef {import('./api-types.js').RepairTask} RepairTask
 */

/** The queue as last seen, by `name vN`, to tell what has left it since. @type {Map<string, RepairTask> | undefined} */
let lastQueue
let lastRepaired = 0
/** @type {{ at: number, text: string }[]} */
const recent = []

/** @param {RepairTask} t */
const key = (t) => `${t.name} v${t.version}`

/** The plan, or undefined for a user who is not an admin (the directory refuses them). */
async function planIfAllowed() {
  try {
    return /** @type {RepairTask[]} */ (await request('GET', '/v1/repair/plan'))
  } catch (error) {
    if (error instanceof ApiError && error.code === 'DFS_FORBIDDEN') return undefined
    throw error
  }
}

export async function showRepair() {
  try {
    // The plan first: asking for it also recounts what is under-replicated, which status then shows.
    const plan = await planIfAllowed()
    /** @type {ProxyStatus} */
    const status = await request('GET', '/v1/status')
    renderSummary(status)
    if (plan) noteLeft(plan, status.repair.repaired)
    renderQueue(plan)
    renderRecent()
    renderReports(status)
    renderJobs(status)
    fill(byId('repair-error'))
  } catch (error) {
    fill(byId('repair-error'), `Could not read the repair state: ${describe(error)}`)
  }
}

/** @param {ProxyStatus} status */
function renderSummary(status) {
  const r = status.repair
  const facts = [
    ['Under-replicated', h('span', { id: 'under-replicated' }, String(r.underReplicated))],
    ['Lost (no copy left)', String(r.lost)],
    ['Copies made', h('span', { id: 'repaired-count' }, String(r.repaired))],
    ['Copies failed', String(r.failed)],
    ['Last pass', ago(r.lastPass)],
    ['Last error', r.lastError ? [ago(r.lastError.at), r.lastError.message].join(': ') : 'none'],
    ['Bad copies this proxy reported', String(status.proxy.badCopiesReported)],
  ]
  fill(byId('repair-summary'), ...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]))
}

/** Records each version that left the queue: repaired if copies were made since the last look. @param {RepairTask[]} plan @param {number} repaired */
function noteLeft(plan, repaired) {
  const now = new Map(plan.map((t) => [key(t), t]))
  if (lastQueue) {
    for (const [k, t] of lastQueue) {
      if (now.has(k)) continue
      const made =
        repaired > lastRepaired && t.target ? `copied to file server ${t.target.id}` : 'no longer short'
      recent.unshift({ at: Date.now(), text: `${k}: ${made}` })
    }
  }
  recent.splice(50)
  lastQueue = now
  lastRepaired = repaired
}

/** @param {RepairTask[] | undefined} plan */
function renderQueue(plan) {
  const body = /** @type {HTMLTableElement} */ (byId('repair-queue')).tBodies[0]
  if (!body) return
  if (!plan) {
    fill(body)
    fill(byId('repair-queue-caption'), 'Only admins see the repair queue.')
    return
  }
  fill(
    byId('repair-queue-caption'),
    plan.length === 0
      ? 'Nothing to repair.'
      : `${plan.length} versions short of copies, most endangered first`,
  )
  fill(
    body,
    ...plan.map((t) =>
      row(
        [
          t.name,
          `v${t.version} (${bytes(t.size)})`,
          t.copies.length === 0 ? 'none' : t.copies.map((id) => `file server ${id}`).join(', '),
          t.source ? `file server ${t.source.id}` : '—',
          t.target ? `file server ${t.target.id}` : '—',
          t.waiting ?? '',
        ],
        { 'data-name': t.name, 'data-version': t.version },
      ),
    ),
  )
}

function renderRecent() {
  const list = byId('repair-recent')
  if (recent.length === 0) return fill(list, h('li', { class: 'empty' }, 'Nothing yet.'))
  fill(list, ...recent.map((r) => h('li', {}, time(r.at), ' ', r.text)))
}

/** @param {ProxyStatus} status */
function renderReports(status) {
  const body = /** @type {HTMLTableElement} */ (byId('reports')).tBodies[0]
  if (!body) return
  const reports = [...status.reports].reverse()
  if (reports.length === 0) return fill(body, h('tr', {}, h('td', { colspan: 4 }, 'None reported.')))
  fill(
    body,
    ...reports.map((r) =>
      row([
        `file server ${r.server}`,
        h('code', { title: r.sha256 }, r.sha256.slice(0, 12)),
        r.reason,
        time(r.at),
      ]),
    ),
  )
}

/** @param {ProxyStatus} status */
function renderJobs(status) {
  const body = /** @type {HTMLTableElement} */ (byId('jobs')).tBodies[0]
  if (!body) return
  const rows = [...status.servers]
    .sort((a, b) => a.id - b.id)
    .flatMap((s) =>
      Object.entries(s.jobs ?? {}).map(([name, job]) =>
        row([
          `file server ${s.id}`,
          name,
          job.lastOk ? ago(job.lastOk) : 'never',
          job.lastError ? `${ago(job.lastError.at)}: ${job.lastError.message}` : 'none',
        ]),
      ),
    )
  if (rows.length === 0)
    return fill(body, h('tr', {}, h('td', { colspan: 4 }, 'No file server has reported its jobs yet.')))
  fill(body, ...rows)
}

/** The "Run a repair pass now" button (admins). */
export async function runRepair() {
  const status = byId('repair-run-status')
  fill(status, 'Running a repair pass…')
  try {
    /** @type {import('./api-types.js').RepairOutcome} */
    const outcome = await request('POST', '/v1/repair/run', { body: {} })
    const failed = outcome.failures.map((f) => `${f.name} v${f.version}: ${f.error}`)
    const left = outcome.left ? `; ${outcome.left} still short (see the queue for why)` : ''
    fill(
      status,
      `Made ${outcome.copied} copies${failed.length ? `; failed: ${failed.join('; ')}` : ''}${left}.`,
    )
  } catch (error) {
    fill(status, `The repair pass failed: ${describe(error)}`)
  }
  await showRepair()
}
