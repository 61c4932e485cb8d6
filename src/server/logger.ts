// The little of a logger that background jobs need (Fastify's `app.log`, pino, is one), and the one
// way they turn a failure into the reason they log and show in `dfs status`.

import { JOB_MESSAGE_MAX } from '../protocol/types.ts'

export interface Logger {
  warn(obj: object, msg: string): void
}

/** One line, bounded: what a failed background step says about why. */
export function reason(error: unknown): string {
  const message = error instanceof Error ? error.message || error.name : String(error)
  return message.replace(/\s+/g, ' ').trim().slice(0, JOB_MESSAGE_MAX)
}
