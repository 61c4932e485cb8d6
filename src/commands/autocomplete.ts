import { Args } from '@oclif/core'
import { basename } from 'node:path'
import { BaseCommand } from '../cli/base-command.ts'
import { completionModel } from '../cli/completion-model.ts'
import { completionScript, SHELLS, type Shell } from '../cli/completion-script.ts'
import { DfsError } from '../protocol/errors.ts'

export default class Autocomplete extends BaseCommand {
  static override summary = 'Print a completion script for bash or zsh: commands, flags and dfs names'
  static override description = [
    'Completes command names (dfs user <TAB>), flags (dfs put --<TAB>) and, for commands that take a dfs name, the names and folders under what was typed, asked of the proxy (nothing when not logged in).',
    '',
    'bash: dfs autocomplete bash >> ~/.bashrc, or for this shell only: source <(dfs autocomplete bash)',
    'zsh: dfs autocomplete zsh > "${fpath[1]}/_dfs", then start a new shell (compinit must be on)',
  ].join('\n')

  static override examples = [
    '<%= config.bin %> autocomplete bash >> ~/.bashrc',
    'source <(<%= config.bin %> autocomplete bash)',
    '<%= config.bin %> autocomplete zsh > "${fpath[1]}/_dfs"',
  ]

  static override enableJsonFlag = false
  static override args = {
    shell: Args.string({ description: 'the shell (default: from $SHELL)', options: SHELLS }),
  }

  async run(): Promise<void> {
    const { args } = await this.parse(Autocomplete)
    const shell = (args.shell as Shell | undefined) ?? shellFromEnv()
    const model = completionModel(this.config.commands)
    process.stdout.write(completionScript(shell, this.config.bin, model))
  }
}

function shellFromEnv(): Shell {
  const name = basename(process.env.SHELL ?? '')
  const shell = SHELLS.find((s) => s === name)
  if (!shell) throw new DfsError('DFS_USAGE', `give the shell, bash or zsh ($SHELL is ${name || 'not set'})`)
  return shell
}
