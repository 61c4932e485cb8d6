// Byte sizes on the command line, one parser for every size flag: 1GiB, 500MB, 64KiB, or a plain
// number of bytes.

import { Flags } from '@oclif/core'
import { DfsError } from '../protocol/errors.ts'

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
}

export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim())
  const unit = UNITS[(match?.[2] ?? '').toLowerCase()]
  if (!match?.[1] || unit === undefined)
    throw new DfsError('DFS_USAGE', `not a size: ${text} (try 1GiB, 500MB)`)
  return Math.floor(Number(match[1]) * unit)
}

/** Bytes as the shortest text parseSize reads back exactly, in binary units: 4194304 is 4MiB. */
export function formatSize(n: number): string {
  for (const unit of ['tib', 'gib', 'mib', 'kib'] as const) {
    const bytes = UNITS[unit]!
    if (n > 0 && n % bytes === 0) return `${n / bytes}${unit.slice(0, -2).toUpperCase()}iB`
  }
  return `${n}`
}

/** An oclif flag holding a number of bytes; help shows its default as 1GiB, not 1073741824. */
export const size = Flags.custom<number>({
  parse: async (input) => parseSize(input),
  defaultHelp: async ({ options }) =>
    typeof options.default === 'number' ? formatSize(options.default) : undefined,
})
