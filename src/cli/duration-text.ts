// Durations as text, without oclif (the quick path reads them at start): 500ms, 30s, 5m, 1h, 7d, or
// a plain number of SECONDS, in milliseconds. ./duration.ts makes them oclif flags.

import { DfsError } from '../protocol/errors.ts'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim())
  if (!match?.[1]) throw new DfsError('DFS_USAGE', `not a duration: ${text} (try 500ms, 30s, 5m, 1h)`)
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 's']!)
}

/** Milliseconds as the shortest text parseDuration reads back exactly: 90000 is 90s, 3600000 is 1h. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`
  }
  return `${ms}ms`
}
