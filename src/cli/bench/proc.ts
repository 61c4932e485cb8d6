// What the kernel says of a process (Linux /proc): resident memory now and at its peak, for the
// benchmark's memory figures. Elsewhere, or once the process is gone, these read 0.

import { readFileSync } from 'node:fs'

/** VmRSS (resident now) or VmHWM (the peak so far) of a live process, in bytes. */
export function residentBytes(pid: number | undefined, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  if (!pid) return 0
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** The direct children of a process (nginx's workers under its master). */
export function childPids(pid: number | undefined): number[] {
  if (!pid) return []
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return text ? text.split(/\s+/).map(Number) : []
  } catch {
    return []
  }
}

/** The peak resident memory of a process and its direct children, added up, in bytes. */
export function treePeakBytes(pid: number | undefined): number {
  let total = 0
  for (const one of [pid, ...childPids(pid)]) total += residentBytes(one, 'VmHWM')
  return total
}
