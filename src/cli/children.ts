// Starting dfs roles as child processes of this same program (used by `dfs up` and the tests): spawn,
// wait for the listening line, keep logs, and stop them cleanly.

import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { DfsError } from '../protocol/errors.ts'
import { LISTENING } from '../server/lifecycle.ts'

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
  const child = spawn(invocation.command, [...invocation.prefix, ...options.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  })
  const log: WriteStream | undefined = options.log
    ? createWriteStream(options.log, { flags: 'a' })
    : undefined
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? null : code)),
  )
  let stderrTail = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    log?.write(chunk)
    stderrTail = (stderrTail + chunk.toString()).slice(-2000)
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new DfsError('DFS_UNAVAILABLE', `${options.name} did not start in time`)),
      options.timeoutMs ?? 60_000,
    )
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      log?.write(`${line}\n`)
      const match = LISTENING.exec(line)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      const last = stderrTail.trim().split('\n').pop() ?? ''
      reject(
        new DfsError(
          'DFS_UNAVAILABLE',
          `${options.name} exited (${code ?? 'signal'}) before listening: ${last}`,
        ),
      )
    })
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL')
    await exited
    throw error
  })
  void exited.then(() => log?.end())
  return { name: options.name, url, process: child, exited }
}

/** SIGTERM, then SIGKILL after a grace period. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs)
  await child.exited
  clearTimeout(timer)
}
