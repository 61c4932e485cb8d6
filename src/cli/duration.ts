// Durations on the command line: 500ms, 30s, 5m, 1h, 7d, or a plain number of seconds.

import { Flags } from '@oclif/core'
import { DfsError } from '../protocol/errors.ts'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim())
  if (!match?.[1]) throw new DfsError('DFS_USAGE', `not a duration: ${text} (try 500ms, 30s, 5m)`)
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 's']!)
}

/** An oclif flag holding a duration in milliseconds, bounded. */
export const duration = Flags.custom<number>({
  parse: async (input) => parseDuration(input),
})
