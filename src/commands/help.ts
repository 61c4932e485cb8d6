// `dfs help [COMMAND...]`: the help `dfs COMMAND --help` prints, as a command of its own (oclif
// answers --help itself, but `help` needs a command; the explicit command map has none built in).

import { Args, Flags, loadHelpClass } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.ts'

export default class Help extends BaseCommand {
  static override summary = 'Show help for dfs, a command or a group of commands'
  static override examples = [
    '<%= config.bin %> help',
    '<%= config.bin %> help put',
    '<%= config.bin %> help user   # the user commands',
    '<%= config.bin %> help --all  # every command',
  ]

  static override enableJsonFlag = false
  static override strict = false
  static override args = { command: Args.string({ description: 'command or group, e.g. put, user add' }) }
  static override flags = { all: Flags.boolean({ description: 'list every command, not only the groups' }) }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Help)
    const id = argv.map(String).join(':')
    // The same line, and did-you-mean, as for `dfs bogus`.
    if (id && !this.config.findCommand(id) && !this.config.findTopic(id)) {
      await this.config.runHook('command_not_found', { id, argv: [] })
      return
    }
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, { all: flags.all }).showHelp(argv.map(String))
  }
}
