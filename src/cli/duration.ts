// Durations on the command line, one parser for every time flag: 500ms, 30s, 5m, 1h, 7d, or a plain
// number of SECONDS. Values inside dfs are milliseconds; help shows defaults written the same way.

import { Flags } from '@oclif/core'
import { DfsError } from '../protocol/errors.ts'
import { formatDuration, parseDuration } from './duration-text.ts'

export { formatDuration, parseDuration }

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
