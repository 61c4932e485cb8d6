// The base of every dfs command: --json, one-line errors with a stable code on stderr (exit 1, or 2
// for usage), and, for user commands, finding the proxy, the CA to trust and the session.

import { Command, Interfaces } from '@oclif/core'
import { chalkStderr } from 'chalk'
import { DfsError, isErrorCode, type ErrorCode } from '../protocol/errors.ts'

/**
 * A command that did part of its work and then failed (some repair copies failed, say): it exits
 * non-zero like any error, and with --json its output is printed beside the error, in one document.
 */
export class PartialFailure extends DfsError {
  readonly output: Record<string, unknown>

  constructor(code: ErrorCode, message: string, output: Record<string, unknown>) {
    super(code, message)
    this.output = output
  }
}

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  protected override async catch(error: Interfaces.CommandError): Promise<void> {
    const { code, message, exit } = describe(error)
    process.exitCode = exit
    const output = error instanceof PartialFailure ? error.output : {}
    if (this.jsonEnabled()) this.logJson({ ...output, error: { code, message } })
    // chalkStderr colours only when stderr is a terminal that wants colour (NO_COLOR is honoured).
    process.stderr.write(`${chalkStderr.red(`dfs: ${code}:`)} ${message}\n`)
    if (process.env.DEBUG?.includes('dfs') && error.stack) process.stderr.write(`${error.stack}\n`)
  }
}

function describe(error: Interfaces.CommandError): { code: string; message: string; exit: number } {
  if (error instanceof DfsError)
    return { code: error.code, message: oneLine(error.message), exit: error.code === 'DFS_USAGE' ? 2 : 1 }
  const exit = (error as { oclif?: { exit?: number } }).oclif?.exit
  const code = (error as { code?: unknown }).code
  if (isErrorCode(code)) return { code, message: oneLine(error.message), exit: 1 }
  if (
    exit === 2 ||
    error.name.includes('Parse') ||
    error.name.includes('Flag') ||
    error.name.includes('Arg')
  ) {
    return { code: 'DFS_USAGE', message: oneLine(error.message), exit: 2 }
  }
  return { code: 'DFS_INTERNAL', message: oneLine(error.message || String(error)), exit: 1 }
}

function oneLine(message: string): string {
  // oclif's parse errors carry help text and ANSI colour; keep the first meaningful line.
  // eslint-disable-next-line no-control-regex
  const plain = message.replace(/\u001b\[[0-9;]*m/g, '')
  return plain
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
    .slice(0, 500)
}
