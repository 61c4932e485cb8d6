// Transfer progress on a terminal: an ora spinner on stderr with bytes and rate, updated as bytes
// pass. Nothing at all when stderr is not a TTY or --json is on (scripts see only the result).

import type { Ora } from 'ora'
import { Transform, type TransformCallback } from 'node:stream'
import { bytes } from './format.ts'

export interface Progress {
  stream: Transform
  /** Ends the spinner with a success line; false if no spinner was shown (print it yourself). */
  done(message: string): boolean
  fail(): void
}

export async function progress(
  label: string,
  total: number | undefined,
  enabled: boolean,
): Promise<Progress> {
  // A terminal that reports no width (some pseudo-terminals) would make ora redraw without end.
  const terminal = process.stderr.isTTY && (process.stderr.columns ?? 0) >= 20
  // ora is loaded only when a spinner will show: scripts should not pay for it at start-up.
  const spinner: Ora | undefined =
    enabled && terminal
      ? (await import('ora')).default({ text: label, stream: process.stderr, discardStdin: false }).start()
      : undefined
  const started = Date.now()
  let seen = 0
  let shown = 0
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length
      const now = Date.now()
      if (spinner && now - shown > 100) {
        shown = now
        const rate = seen / Math.max((now - started) / 1000, 0.001)
        const of = total === undefined ? '' : ` of ${bytes(total)}`
        spinner.text = `${label}: ${bytes(seen)}${of} (${bytes(rate)}/s)`
      }
      callback(null, chunk)
    },
  })
  return {
    stream,
    done: (message) => {
      spinner?.succeed(message)
      return spinner !== undefined
    },
    fail: () => spinner?.stop(),
  }
}
