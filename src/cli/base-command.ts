// The base of every dfs command: --json, one-line errors with a stable code on stderr (exit 1, or 2
// for usage), and, for user commands, finding the proxy, the CA to trust and the session.

import { Command, Interfaces } from '@oclif/core'
import { DfsError, isErrorCode, type ErrorCode } from '../protocol/errors.ts'
import { colourFlag, stderrChalk } from './colour.ts'
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

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = { color: colourFlag }

  protected override async catch(error: Interfaces.CommandError): Promise<void> {
    const { code, message, exit } = describe(error)
    process.exitCode = exit
    const output = error instanceof PartialFailure ? error.output : {}
    if (this.jsonEnabled()) this.logJson({ ...output, error: { code, message } })
    const hint = code === 'DFS_USAGE' ? ` (see ${this.helpCommand()})` : ''
    process.stderr.write(`${stderrChalk(this.argv).red(`dfs: ${code}:`)} ${message}${hint}\n`)
    if (process.env.DEBUG?.includes('dfs') && error.stack) process.stderr.write(`${error.stack}\n`)
  }

  /** `dfs token create --help`: where a usage error points. */
  private helpCommand(): string {
    return [this.config.bin, ...(this.id?.split(':') ?? []), '--help'].join(' ')
  }
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
