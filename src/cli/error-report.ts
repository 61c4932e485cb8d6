// How a failed command reports: one line with a stable code on stderr (exit 1, or 2 for usage), with
// --json the error in the output document too. Shared by oclif's commands (BaseCommand) and the
// quick path that runs put, get and write without oclif (./quick-run.ts), so both say the same.

import type { Interfaces } from '@oclif/core'
import { DfsError, isErrorCode, type ErrorCode } from '../protocol/errors.ts'
import { stderrChalk } from './colour.ts'
import { plainLines, usageMessage } from './usage-message.ts'

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

export interface FailureOutput {
  /** The command's own arguments (after its name), where --color and --no-color are read. */
  argv: readonly string[]
  /** --json is on: the error goes into the JSON document too, printed by `logJson`. */
  json: boolean
  logJson(document: Record<string, unknown>): void
  /** `dfs put --help`: where a usage error points. */
  helpCommand: string
}

/** Reports `error` and sets the exit status. */
export function reportFailure(error: Interfaces.CommandError, out: FailureOutput): void {
  const { code, message, exit } = describe(error)
  process.exitCode = exit
  const output = error instanceof PartialFailure ? error.output : {}
  if (out.json) out.logJson({ ...output, error: { code, message } })
  const hint = code === 'DFS_USAGE' ? ` (see ${out.helpCommand})` : ''
  process.stderr.write(`${stderrChalk(out.argv).red(`dfs: ${code}:`)} ${message}${hint}\n`)
  if (process.env.DEBUG?.includes('dfs') && error.stack) process.stderr.write(`${error.stack}\n`)
}

function describe(error: Interfaces.CommandError): { code: string; message: string; exit: number } {
  const code = error instanceof DfsError ? error.code : (error as { code?: unknown }).code
  // A flag's own parser that throws DFS_USAGE comes back from oclif with its text ("Parsing --wait").
  if (code === 'DFS_USAGE' || isUsageError(error))
    return { code: 'DFS_USAGE', message: usageMessage(error), exit: 2 }
  if (isErrorCode(code)) return { code, message: oneLine(error.message), exit: 1 }
  return { code: 'DFS_INTERNAL', message: oneLine(error.message || String(error)), exit: 1 }
}

/** oclif's parse errors: exit status 2, or a parser error class (which oclif does not export). */
function isUsageError(error: Interfaces.CommandError): boolean {
  if (error instanceof DfsError) return false
  const exit = (error as { oclif?: { exit?: number } }).oclif?.exit
  return exit === 2 || ['Parse', 'Flag', 'Arg'].some((part) => error.name.includes(part))
}

function oneLine(message: string): string {
  return plainLines(message).join(' ').slice(0, 500)
}
