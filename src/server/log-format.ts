// One log format for every role: pino's JSON lines (for files and log collectors), or the same
// records as short readable lines when a person watches a terminal. The level comes from
// --log-level, else DFS_LOG, else info.

import { hostname } from 'node:os'
import { Writable } from 'node:stream'
import { pino, type Logger, type LoggerOptions } from 'pino'

const NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
}
/** Fields every record has, left out of a readable line. */
const COMMON = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'role', 'id', 'reqId'])

export function logLevel(level?: string): string {
  return level ?? process.env.DFS_LOG ?? 'info'
}

/** pino's options for a role (Fastify's `logger`), readable lines on a terminal. */
export function logOptions(
  role: string,
  id: number | undefined,
  level?: string,
): LoggerOptions & { stream?: Writable } {
  return {
    level: logLevel(level),
    base: { pid: process.pid, hostname: hostname(), role, ...(id === undefined ? {} : { id }) },
    ...(process.stdout.isTTY ? { stream: readableLines() } : {}),
  }
}

/** A logger for what a role says outside a request: where it listens, that it stops. */
export function roleLogger(role: string, id: number | undefined, level?: string): Logger {
  const { stream, ...options } = logOptions(role, id, level)
  const logger = stream ? pino(options, stream) : pino(options)
  // Where it listens and that it stops are said at every level: dfs up and scripts wait for them.
  return logger.child({}, { level: 'info' })
}

/** JSON records turned into `12:00:01 INFO  proxy 1  message key=value`. */
function readableLines(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) process.stdout.write(`${readable(line)}\n`)
      callback()
    },
  })
}

function readable(line: string): string {
  let record: Record<string, unknown>
  try {
    record = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  const time = new Date(Number(record.time)).toISOString().slice(11, 19)
  const level = (NAMES[Number(record.level)] ?? 'LOG').padEnd(5)
  const who = `${String(record.role ?? '')}${record.id === undefined ? '' : ` ${String(record.id)}`}`
  const rest = Object.entries(record)
    .filter(([key]) => !COMMON.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
  return [time, level, who, String(record.msg ?? ''), ...rest].filter(Boolean).join('  ')
}
