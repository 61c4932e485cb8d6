import { Args, Flags } from '@oclif/core'
import { leaseFlags } from '../cli/lease-flags.ts'
import { putFile } from '../cli/put-file.ts'
import { UserCommand } from '../cli/user-command.ts'
import { transferFlags } from '../cli/transfer-flags.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Put extends UserCommand {
  static override summary = 'Store a local file (or stdin with -) under NAME, on two file servers'
  static override examples = [
    '<%= config.bin %> put ./report.pdf docs/report.pdf',
    'tar c photos | <%= config.bin %> put - backups/photos.tar',
    '<%= config.bin %> put ./report.pdf docs/report.pdf --force   # replace it, under its write lock',
  ]

  static override args = {
    local: Args.string({ description: 'local file, or - for stdin', required: true }),
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  static override flags = {
    force: Flags.boolean({
      description: 'replace NAME if it exists (takes its write lock meanwhile)',
      default: false,
    }),
    ...leaseFlags,
    ...transferFlags,
  }

  async run(): Promise<FileVersion> {
    const { args, flags } = await this.parse(Put)
    return putFile({ ...args, ...flags }, this.context())
  }
}
