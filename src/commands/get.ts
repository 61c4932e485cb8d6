import { Args, Flags } from '@oclif/core'
import { getFile, type GetResult } from '../cli/get-file.ts'
import { UserCommand } from '../cli/user-command.ts'
import { transferFlags } from '../cli/transfer-flags.ts'

export default class Get extends UserCommand {
  static override summary = 'Fetch NAME into a local file, or to stdout with - (or when piped)'
  static override examples = [
    '<%= config.bin %> get docs/report.pdf ./report.pdf',
    '<%= config.bin %> get docs/report.pdf ~/Downloads/   # writes ~/Downloads/report.pdf',
    '<%= config.bin %> get backups/photos.tar - | tar x',
    '<%= config.bin %> get --range 0-1023 logs/big.log -',
  ]

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
    local: Args.string({ description: 'local file, or a directory to write NAME into, or - for stdout' }),
  }

  static override flags = {
    ...transferFlags,
    offline: Flags.boolean({
      description: "if the directory cannot be reached, serve the proxy's cached copy (it may be stale)",
      default: false,
    }),
    range: Flags.string({
      description: 'only these bytes: START-END (inclusive), START- (to the end) or -COUNT (the last COUNT)',
    }),
  }

  async run(): Promise<GetResult> {
    const { args, flags } = await this.parse(Get)
    return getFile({ ...args, ...flags }, this.context())
  }
}
