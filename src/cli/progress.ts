// Transfer progress on a terminal, on stderr, as `mc cp` or rclone show it: for more than 1 MiB of a
// known size, a bar with the bytes done, the total, the rate and the time left; for stdin of unknown
// length, the bytes and the rate; at the end one line with the size, the time and the rate. Nothing
// at all when stderr is not a terminal, with --json, or with --quiet (scripts see only the result).

import type { Ora } from 'ora'
import { Transform, type TransformCallback } from 'node:stream'
import { bytes } from './format.ts'

/** Smaller transfers are over before a bar could say anything. */
export const PROGRESS_FROM_BYTES = 1024 * 1024
const BAR_WIDTH = 24
const REDRAW_MS = 100

export interface Progress {
  /** A pass-through that counts what flows by. */
  stream: Transform
  /** Counts bytes done outside `stream`. */
  advance(bytes: number): void
  /** Ends the display with a success line; false if nothing was shown (print it yourself). */
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
  const worth = total === undefined || total > PROGRESS_FROM_BYTES
  // ora is loaded only when something will show: scripts should not pay for it at start-up.
  const spinner: Ora | undefined =
    enabled && terminal && worth
      ? (await import('ora')).default({ text: label, stream: process.stderr, discardStdin: false }).start()
      : undefined
  const started = Date.now()
  let seen = 0
  let shown = 0
  const advance = (bytes: number) => {
    seen += bytes
    const now = Date.now()
    if (spinner && now - shown > REDRAW_MS) {
      shown = now
      spinner.text = `${label}  ${transferLine(seen, total, (now - started) / 1000)}`
    }
  }
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      advance(chunk.length)
      callback(null, chunk)
    },
  })
  return {
    stream,
    advance,
    done: (message) => {
      if (!spinner) return false
      spinner.succeed(`${message}\n  ${summaryLine(seen, (Date.now() - started) / 1000)}`)
      return true
    },
    fail: () => spinner?.stop(),
  }
}

/** `[#######.........]  42%  420 MiB / 1.0 GiB  85 MiB/s  ETA 7s`, or bytes and rate with no total. */
export function transferLine(done: number, total: number | undefined, seconds: number): string {
  const rate = Math.round(done / Math.max(seconds, 0.001))
  if (total === undefined || total === 0) return `${bytes(done)}  ${bytes(rate)}/s`
  const fraction = Math.min(1, done / total)
  const filled = Math.round(fraction * BAR_WIDTH)
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`
  const left = rate > 0 ? (total - done) / rate : Infinity
  const eta = done === 0 ? 'ETA -' : `ETA ${duration(left)}`
  return `${bar} ${`${Math.floor(fraction * 100)}%`.padStart(4)}  ${bytes(done)} / ${bytes(total)}  ${bytes(rate)}/s  ${eta}`
}

/** `1.0 GiB in 12.3 s (85.1 MiB/s)`. */
export function summaryLine(done: number, seconds: number): string {
  return `${bytes(done)} in ${seconds.toFixed(1)} s (${bytes(Math.round(done / Math.max(seconds, 0.001)))}/s)`
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-'
  const s = Math.ceil(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
