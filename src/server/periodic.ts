// A background job run again `everyMs` after each run ends (never overlapping itself), stopped
// cleanly: stop() waits for a run in progress. A failed run logs one line with its reason and is
// kept as the job's last error, which the file server sends the directory for `dfs status`.

import type { JobState } from '../protocol/types.ts'
import { systemClock, type Clock } from './clock.ts'
import { reason, type Logger } from './logger.ts'

export interface Periodic {
  stop(): Promise<void>
  readonly state: JobState
}

export interface PeriodicOptions {
  everyMs: number
  /** Delay before the first run (default: everyMs). */
  firstDelayMs?: number
  log: Logger
  clock?: Clock
}

export function periodic(name: string, job: () => Promise<unknown>, options: PeriodicOptions): Periodic {
  const clock = options.clock ?? systemClock
  const state: JobState = {}
  let timer: NodeJS.Timeout | undefined
  let current: Promise<unknown> | undefined
  let stopped = false
  const failed = (error: unknown) => {
    const message = reason(error)
    state.lastError = { at: clock.now(), message }
    options.log.warn({ err: error, job: name }, `${name} failed: ${message}`)
  }
  const run = () => {
    current = job()
      .then(() => (state.lastOk = clock.now()), failed)
      .finally(() => {
        if (!stopped) timer = setTimeout(run, options.everyMs)
      })
  }
  timer = setTimeout(run, options.firstDelayMs ?? options.everyMs)
  return {
    state,
    async stop() {
      stopped = true
      clearTimeout(timer)
      await current
    },
  }
}
