// The work of `dfs lock`, apart from oclif: run by the lock command and by the quick path alike.

import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { DfsError } from '../protocol/errors.ts'
import { normaliseName } from '../protocol/names.ts'
import type { CommandContext } from './command-context.ts'
import { HeldLease } from './lease.ts'

export interface LockInput {
  name: string
  /** The command to run under the lock, and its arguments. */
  command: string[]
  wait: number
  ttl: number
  proxy?: string
  data?: string
}

/** What --json prints: the lease the command ran under (never its secret key), and its status. */
export interface LockResult {
  name: string
  token: number
  since: number
  status: number
}

/** Runs `command` holding NAME's write lock, renewed while it runs; exits with the command's status. */
export async function runLocked(input: LockInput, context: CommandContext): Promise<LockResult> {
  const name = normaliseName(input.name)
  if (input.command.length === 0)
    throw new DfsError('DFS_USAGE', 'give a command to run: dfs lock NAME -- CMD [ARGS...]')
  const client = await context.proxy(input)
  const lease = await HeldLease.acquire(client, name, input.wait, input.ttl)
  let status: number
  try {
    const env = { ...process.env, DFS_LOCK_NAME: name, DFS_LOCK_TOKEN: lease.key, DFS_PROXY: client.url }
    // With --json, stdout is for dfs's one document: the command's output goes to stderr.
    status = await run(input.command, env, context.json ? 'stderr' : 'stdout')
  } finally {
    await lease.release()
  }
  if (lease.lost && status === 0) throw lease.lost
  process.exitCode = status
  const { token, since } = lease.lease
  return { name, token, since, status }
}

function run(command: string[], env: NodeJS.ProcessEnv, output: 'stdout' | 'stderr'): Promise<number> {
  const [file, ...rest] = command
  return new Promise((resolve, reject) => {
    // File descriptor 2 for its stdout: the command writes straight to dfs's stderr.
    const child = spawn(file!, rest, {
      stdio: ['inherit', output === 'stdout' ? 'inherit' : 2, 'inherit'],
      env,
    })
    child.once('error', (error) => reject(new DfsError('DFS_USAGE', `cannot run ${file}: ${error.message}`)))
    child.once('exit', (code, signal) =>
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
    )
  })
}
