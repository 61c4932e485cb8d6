// `dfs __complete-names PREFIX`, which the completion scripts (dfs autocomplete) call on TAB: the
// names and folders one level under what was typed, one a line. Quiet on purpose: with no login or
// no proxy it prints nothing and exits 0, as a shell in the middle of a command line needs.

import { Args } from '@oclif/core'
import { UserCommand } from '../cli/user-command.ts'

/** Enough to choose from on a screen; more is a listing, which dfs ls gives. */
const MAX_NAMES = 50
/** A TAB that hangs is worse than one that offers nothing: a proxy this slow gets no say. */
const GIVE_UP_MS = 3000

export default class CompleteNames extends UserCommand {
  static override summary =
    'Print the dfs names and folders under PREFIX, one level down (for shell completion)'
  static override examples = ['<%= config.bin %> __complete-names docs/']
  static override hidden = true
  static override enableJsonFlag = false
  static override args = { prefix: Args.string({ description: 'what was typed so far', default: '' }) }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CompleteNames)
    // The open connection would keep the process alive past the timer: exit outright.
    const deadline = setTimeout(() => process.exit(0), GIVE_UP_MS)
    try {
      const client = await this.proxy(flags)
      const page = await client.listPage({ prefix: args.prefix, delimiter: '/', limit: MAX_NAMES })
      const names = [...(page.prefixes ?? []), ...page.files.map((f) => f.name)]
      const shown = names.sort().slice(0, MAX_NAMES)
      if (shown.length > 0) process.stdout.write(`${shown.join('\n')}\n`)
    } finally {
      clearTimeout(deadline)
    }
  }

  /** Not logged in, no proxy, a name the proxy refuses: nothing to offer, and nothing to say. */
  protected override async catch(): Promise<void> {
    process.exitCode = 0
  }
}
