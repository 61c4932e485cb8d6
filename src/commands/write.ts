import { Args, Flags } from '@oclif/core'
import { leaseFlags } from '../cli/lease-flags.ts'
import { UserCommand } from '../cli/user-command.ts'
import { transferFlags } from '../cli/transfer-flags.ts'
import { writeFile } from '../cli/write-file.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Write extends UserCommand {
  static override summary = 'Replace NAME with stdin, under its write lock (write mode for scripts)'
  static override description =
    'Takes the write lock (waiting in line), replaces the file with stdin, and releases the lock once the new version is on every copy. Inside `dfs lock NAME -- ...` it writes under that lock instead.'
  static override examples = [
    'date | <%= config.bin %> write logs/last-run.txt --create',
    "<%= config.bin %> lock counter -- sh -c 'echo $(( $(dfs get counter -) + 1 )) | dfs write counter'",
  ]

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  static override flags = {
    create: Flags.boolean({ description: 'allow NAME to be new', default: false }),
    ...leaseFlags,
    ...transferFlags,
  }

  async run(): Promise<FileVersion> {
    const { args, flags } = await this.parse(Write)
    return writeFile({ ...args, ...flags }, this.context())
  }
}
