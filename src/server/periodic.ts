// A background job run again `intervalMs` after each run ends (never overlapping itself), stopped
// cleanly: stop() waits for a run in progress.

export interface Periodic {
  stop(): Promise<void>
}

export function periodic(
  intervalMs: number,
  job: () => Promise<unknown>,
  firstDelayMs = intervalMs,
): Periodic {
  let timer: NodeJS.Timeout | undefined
  let current: Promise<unknown> | undefined
  let stopped = false
  const run = () => {
    current = job()
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timer = setTimeout(run, intervalMs)
      })
  }
  timer = setTimeout(run, firstDelayMs)
  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await current
    },
  }
}
