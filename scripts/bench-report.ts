// The one table `npm run bench` prints (and, with --json, the same as one JSON document): each dfs
// figure next to its same-run baselines, the ratio to nginx where there is an nginx figure (else to
// plain Node), and the target for the row, met or not.

import { cpus, loadavg, release, totalmem } from 'node:os'
import { median } from '../src/cli/bench/stats.ts'
import { renderTable } from '../src/cli/bench/table.ts'

export type Unit = 'MB/s' | '/s' | 'ms' | 'MB'

/** One figure over the runs: a value per run, and latency percentiles per run for many operations. */
export interface Series {
  runs: number[]
  p50Ms?: number[]
  p99Ms?: number[]
}

export interface Target {
  /** Against what the figure is judged: a baseline (as a ratio dfs / baseline), or the figure itself. */
  basis: 'nginx' | 'node' | 'value'
  op: '>=' | '<=' | '<'
  bound: number
}

export interface Row {
  label: string
  unit: Unit
  dfs?: Series
  /** The plain-Node baseline, or why there is none. */
  node?: Series | string
  nginx?: Series | string
  target?: Target
}

/** A heading between groups of rows. */
export interface Heading {
  heading: string
}

export interface Machine {
  node: string
  cpus: number
  cpuModel: string
  memoryBytes: number
  kernel: string
  loadavgAtStart: number[]
  loadavgAtEnd: number[]
  nginx: string | null
}

export function machine(loadAtStart: number[], nginxVersion: string | undefined): Machine {
  const list = cpus()
  return {
    node: process.version,
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    kernel: release(),
    loadavgAtStart: loadAtStart.map((l) => Number(l.toFixed(2))),
    loadavgAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
    nginx: nginxVersion ?? null,
  }
}

const value = (series: Series | string | undefined): number | undefined =>
  typeof series === 'object' && series.runs.length ? median(series.runs) : undefined

function figure(v: number | undefined, unit: Unit): string {
  if (v === undefined || !Number.isFinite(v)) return '-'
  if (unit === 'MB/s') return `${v.toFixed(0)} MB/s`
  if (unit === '/s') return `${v < 100 ? v.toFixed(1) : v.toFixed(0)}/s`
  if (unit === 'ms') return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`
  return `${v.toFixed(0)} MB`
}

function cell(series: Series | string | undefined, unit: Unit): string {
  if (typeof series === 'string') return series
  return figure(value(series), unit)
}

function latencies(series: Series | undefined): string {
  if (!series?.p50Ms?.length || !series.p99Ms?.length) return '-'
  const ms = (v: number) => (v < 10 ? v.toFixed(1) : v.toFixed(0))
  return `${ms(median(series.p50Ms))} / ${ms(median(series.p99Ms))} ms`
}

/** dfs / baseline, against nginx where there is an nginx figure, else plain Node. */
function ratio(row: Row): { against: 'nginx' | 'node'; ratio: number } | undefined {
  const dfs = value(row.dfs)
  if (dfs === undefined) return undefined
  for (const against of ['nginx', 'node'] as const) {
    const base = value(row[against])
    if (base !== undefined && base > 0) return { against, ratio: dfs / base }
  }
  return undefined
}

const BASIS_NAME = { nginx: 'nginx', node: 'node https', value: '' }

function targetText(row: Row): string {
  const t = row.target
  if (!t) return '-'
  if (t.basis === 'value') return `${t.op} ${figure(t.bound, row.unit)}`
  const base = row.label.includes('--version') ? 'node -e 0' : BASIS_NAME[t.basis]
  return `${t.op} ${t.bound}x ${base}`
}

interface Verdict {
  met: boolean | null
  /** The figure judged: a ratio, or the value itself. */
  judged: number | null
  why?: string
}

function judge(row: Row): Verdict | undefined {
  const t = row.target
  if (!t) return undefined
  const dfs = value(row.dfs)
  if (dfs === undefined) return { met: null, judged: null, why: 'not measured' }
  let judged = dfs
  if (t.basis !== 'value') {
    const base = value(row[t.basis])
    if (base === undefined || base <= 0) {
      const reason = typeof row[t.basis] === 'string' ? String(row[t.basis]) : 'no figure'
      return { met: null, judged: null, why: `no ${t.basis} figure (${reason})` }
    }
    judged = dfs / base
  }
  const met = t.op === '>=' ? judged >= t.bound : t.op === '<=' ? judged <= t.bound : judged < t.bound
  return { met, judged }
}

function verdictText(row: Row): string {
  const verdict = judge(row)
  if (!verdict) return '-'
  if (verdict.met === null) return 'not judged'
  const word = verdict.met ? 'met' : 'NOT MET'
  // Say what was judged when the ratio column does not show it (a target against node next to an
  // nginx ratio).
  const t = row.target!
  const shown = ratio(row)
  if (t.basis !== 'value' && shown?.against !== t.basis && verdict.judged !== null)
    return `${word} (${verdict.judged.toFixed(2)}x)`
  return word
}

export function renderReport(result: {
  title: string
  rows: (Row | Heading)[]
  machine: Machine
  notes: string[]
}): string {
  const lines: string[][] = []
  for (const row of result.rows) {
    if ('heading' in row) {
      lines.push([row.heading])
      continue
    }
    const r = ratio(row)
    lines.push([
      `  ${row.label}`,
      cell(row.dfs, row.unit),
      latencies(row.dfs),
      cell(row.node, row.unit),
      cell(row.nginx, row.unit),
      r ? `${r.ratio.toFixed(2)} (${r.against})` : '-',
      targetText(row),
      verdictText(row),
    ])
  }
  const m = result.machine
  return [
    '',
    result.title,
    `machine: node ${m.node}, ${m.cpus} cpus (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `linux ${m.kernel}, nginx ${m.nginx ?? 'not installed'}; load average ${m.loadavgAtStart.join(' ')} ` +
      `at the start, ${m.loadavgAtEnd.join(' ')} at the end`,
    '',
    renderTable(
      ['operation', 'dfs', 'dfs p50 / p99', 'node https', 'nginx', 'dfs / base', 'target', 'met'],
      lines,
    ),
    '',
    ...result.notes,
    '',
  ].join('\n')
}

export function reportJson(result: {
  settings: Record<string, unknown>
  rows: (Row | Heading)[]
  machine: Machine
  elapsedSeconds: number
}): Record<string, unknown> {
  const series = (s: Series | string | undefined) =>
    s === undefined
      ? null
      : typeof s === 'string'
        ? { skipped: s }
        : {
            median: value(s) ?? null,
            runs: s.runs,
            ...(s.p50Ms ? { p50Ms: median(s.p50Ms), p99Ms: median(s.p99Ms ?? []) } : {}),
          }
  let group = ''
  const rows: Record<string, unknown>[] = []
  for (const row of result.rows) {
    if ('heading' in row) {
      group = row.heading
      continue
    }
    const r = ratio(row)
    const verdict = judge(row)
    rows.push({
      group,
      operation: row.label,
      unit: row.unit,
      dfs: series(row.dfs),
      node: series(row.node),
      nginx: series(row.nginx),
      ratio: r?.ratio ?? null,
      ratioAgainst: r?.against ?? null,
      target: row.target ? { ...row.target, text: targetText(row), ...verdict } : null,
    })
  }
  return {
    bench: 'dfs',
    settings: result.settings,
    machine: result.machine,
    elapsedSeconds: Math.round(result.elapsedSeconds),
    rows,
  }
}
