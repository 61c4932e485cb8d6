import { Args } from '@oclif/core'
import { UserCommand } from '../cli/user-command.ts'
import { normaliseName } from '../protocol/names.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Rm extends UserCommand {
  static override summary = 'Remove a file from the namespace'
  static override examples = ['<%= config.bin %> rm docs/old.txt']

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  async run(): Promise<FileVersion> {
    const { args, flags } = await this.parse(Rm)
    const client = await this.proxy(flags)
    const removed = await client.remove(normaliseName(args.name))
    this.say(`removed ${removed.name} (version ${removed.version})`)
    return removed
  }
}
