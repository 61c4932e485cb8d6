// Starting dfs roles as child processes of this same program (used by `dfs up` and the tests): spawn,
// wait for the listening line, keep logs, and stop them cleanly.

import { spawn, type ChildProcess } from 'node:child_process'
import { open } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { DfsError } from '../protocol/errors.ts'
import { LISTENING } from '../server/lifecycle.ts'

/** How often a starting role's log is read for its listening line. */
const POLL_MS = 25
/** How much of a role's last output a failure to start quotes from. */
const TAIL_BYTES = 2000

export interface Child {
  name: string
  url: string
  process: ChildProcess
  exited: Promise<number | null>
}

/** How to run this program again: the standalone binary runs itself, a script runs under node. */
export async function selfInvocation(): Promise<{ command: string; prefix: string[] }> {
  let sea: boolean
  try {
    const mod = (await import('node:sea')) as { isSea?: () => boolean }
    sea = mod.isSea?.() ?? false
  } catch {
    sea = false
  }
  const script = process.argv[1]
  if (sea || !script) return { command: process.execPath, prefix: [] }
  return { command: process.execPath, prefix: [...process.execArgv, script] }
}

export interface StartChildOptions {
  name: string
  args: string[]
  log?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  invocation?: { command: string; prefix: string[] }
}

export async function startChild(options: StartChildOptions): Promise<Child> {
  const invocation = options.invocation ?? (await selfInvocation())
  // With a log, the role writes to it itself: relaying a busy role's line a request through this
  // process cost it more CPU than the role spent logging. The log is read here only until the role
  // says where it listens.
  const log = options.log === undefined ? undefined : await open(options.log, 'a')
  const from = log ? (await log.stat()).size : 0
  let child: ChildProcess
  try {
    child = spawn(invocation.command, [...invocation.prefix, ...options.args], {
      stdio: log ? ['ignore', log.fd, log.fd] : ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    })
  } finally {
    await log?.close()
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? null : code)),
  )
  const output = log ? fileOutput(options.log!, from) : pipeOutput(child)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new DfsError('DFS_UNAVAILABLE', `${options.name} did not start in time`)),
      options.timeoutMs ?? 60_000,
    )
    let listening = false
    output.onListening((found) => {
      listening = true
      clearTimeout(timer)
      resolve(found)
    })
    void exited.then(async (code) => {
      clearTimeout(timer)
      // A role that stops after it listened (dfs up's Ctrl-C, a test's cleanup) has no last words to
      // read here, and its log may be gone already.
      if (listening) return
      const last = (await output.tail().catch(() => '')).trim().split('\n').pop() ?? ''
      reject(
        new DfsError(
          'DFS_UNAVAILABLE',
          `${options.name} exited (${code ?? 'signal'}) before listening: ${last}`,
        ),
      )
    })
  })
    .catch(async (error: unknown) => {
      child.kill('SIGKILL')
      await exited
      throw error
    })
    .finally(() => output.stop())
  return { name: options.name, url, process: child, exited }
}

/** What a starting role prints: where it listens, and its last words if it dies first. */
interface StartOutput {
  onListening(found: (url: string) => void): void
  tail(): Promise<string>
  stop(): void
}

/** The listening line, looked for in the lines of `text` as they grow. */
function lineWatcher(): { feed(text: string): void; onListening(found: (url: string) => void): void } {
  let partial = ''
  let listener: ((url: string) => void) | undefined
  let url: string | undefined
  return {
    feed(text) {
      if (url !== undefined) return
      const lines = (partial + text).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        url = LISTENING.exec(line)?.[1]
        if (url !== undefined) return void listener?.(url)
      }
    },
    onListening(found) {
      listener = found
      if (url !== undefined) found(url)
    },
  }
}

/** A role writing to its log file: read from where it started, a little at a time. */
function fileOutput(path: string, from: number): StartOutput {
  const watcher = lineWatcher()
  let offset = from
  let stopped = false
  let reading: Promise<void> = Promise.resolve()
  const readMore = () =>
    (reading = reading.then(async () => {
      const file = await open(path, 'r')
      try {
        for (;;) {
          const buffer = Buffer.alloc(64 * 1024)
          const { bytesRead } = await file.read(buffer, 0, buffer.length, offset)
          if (bytesRead === 0) return
          offset += bytesRead
          watcher.feed(buffer.subarray(0, bytesRead).toString())
        }
      } finally {
        await file.close()
      }
    }))
  const poll = async () => {
    while (!stopped) {
      await readMore().catch(() => undefined)
      await sleep(POLL_MS)
    }
  }
  void poll()
  return {
    onListening: (found) => watcher.onListening(found),
    tail: async () => {
      await readMore().catch(() => undefined)
      const file = await open(path, 'r')
      try {
        const start = Math.max(from, offset - TAIL_BYTES)
        const buffer = Buffer.alloc(offset - start)
        await file.read(buffer, 0, buffer.length, start)
        return buffer.toString()
      } finally {
        await file.close()
      }
    },
    stop: () => {
      stopped = true
    },
  }
}

/** A role without a log file: its output is read from pipes (and dropped once it listens). */
function pipeOutput(child: ChildProcess): StartOutput {
  const watcher = lineWatcher()
  let stderrTail = ''
  child.stdout!.on('data', (chunk: Buffer) => watcher.feed(chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-TAIL_BYTES)
  })
  return {
    onListening: (found) => watcher.onListening(found),
    tail: async () => stderrTail,
    stop: () => undefined,
  }
}

/** SIGTERM, then SIGKILL after a grace period. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs)
  await child.exited
  clearTimeout(timer)
}
