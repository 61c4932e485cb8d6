// The base of every dfs command: --json, one-line errors with a stable code on stderr (exit 1, or 2
// for usage), and, for user commands, finding the proxy, the CA to trust and the session.

import { Command, Flags, Interfaces } from '@oclif/core'
import { reportFailure } from './error-report.ts'

export { PartialFailure } from './error-report.ts'

/** Declared on every command so that oclif lets --color and --no-color through (see ./colour.ts). */
export const colourFlag = Flags.boolean({
  description: 'colour in messages on stderr (default: on a terminal, unless NO_COLOR is set)',
  allowNo: true,
  helpGroup: 'GLOBAL',
})

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = { color: colourFlag }

  protected override async catch(error: Interfaces.CommandError): Promise<void> {
    reportFailure(error, {
      argv: this.argv,
      json: this.jsonEnabled(),
      logJson: (document) => this.logJson(document),
      helpCommand: this.helpCommand(),
    })
  }

  /** `dfs token create --help`: where a usage error points. */
  private helpCommand(): string {
    return [this.config.bin, ...(this.id?.split(':') ?? []), '--help'].join(' ')
  }
}
