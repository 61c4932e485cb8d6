// @ts-check
// Transfer rates from the proxy's /metrics: the counters are sampled every few seconds and the rate
// is the difference between neighbouring samples, computed here, so the proxy keeps no history.

/** The counters charted, and what a person calls them. */
export const RATES = [
  { metric: 'dfs_proxy_cache_bytes_served_total', label: 'downloads served from the cache', tone: 'one' },
  {
    metric: 'dfs_proxy_cache_bytes_fetched_total',
    label: 'downloads fetched from file servers',
    tone: 'two',
  },
  { metric: 'dfs_proxy_upload_bytes_total', label: 'uploads received', tone: 'three' },
]

/** How long a history the chart shows. */
export const WINDOW_MS = 10 * 60_000

/**
 * Prometheus text exposition to name → value: the series of one name (its labels: role, id, ...)
 * summed. @param {string} text
 */
export function parseMetrics(text) {
  /** @type {Map<string, number>} */
  const values = new Map()
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line.trim())
    if (!match || line.startsWith('#')) continue
    const [, name, value] = match
    if (name && Number.isFinite(Number(value))) values.set(name, (values.get(name) ?? 0) + Number(value))
  }
  return values
}

/** Samples of the counters, and the rates between them over the last WINDOW_MS. */
export class RateHistory {
  /** @type {{ t: number, values: Map<string, number> }[]} */
  samples = []

  /** @param {number} t @param {Map<string, number>} values */
  add(t, values) {
    this.samples.push({ t, values })
    while (this.samples.length > 2 && (this.samples[0]?.t ?? t) < t - WINDOW_MS) this.samples.shift()
  }

  /** Bytes a second of `metric` between each pair of samples; a counter that went back (a restarted proxy) gives none. @param {string} metric */
  rates(metric) {
    /** @type {{ t: number, v: number }[]} */
    const points = []
    for (let i = 1; i < this.samples.length; i++) {
      const before = this.samples[i - 1]
      const now = this.samples[i]
      if (!before || !now) continue
      const delta = (now.values.get(metric) ?? 0) - (before.values.get(metric) ?? 0)
      const seconds = (now.t - before.t) / 1000
      if (delta >= 0 && seconds > 0) points.push({ t: now.t, v: delta / seconds })
    }
    return points
  }
}
