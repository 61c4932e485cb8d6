// Durations on the command line, one parser for every time flag: 500ms, 30s, 5m, 1h, 7d, or a plain
// number of SECONDS. Values inside dfs are milliseconds; help shows defaults written the same way.

import { Flags } from '@oclif/core'
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

/** An oclif flag holding a duration in milliseconds, at least `min` milliseconds when given. */
export const duration = Flags.custom<number, { min?: number }>({
  parse: async (input, _context, options) => {
    const ms = parseDuration(input)
    if (options.min !== undefined && ms < options.min)
      throw new DfsError('DFS_USAGE', `${input} is shorter than ${formatDuration(options.min)}`)
    return ms
  },
  defaultHelp: async ({ options }) =>
    typeof options.default === 'number' ? formatDuration(options.default) : undefined,
})
