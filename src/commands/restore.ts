import { Args, Flags } from '@oclif/core'
import { UserCommand } from '../cli/user-command.ts'
import { describe } from '../cli/upload.ts'
import { normaliseName } from '../protocol/names.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Restore extends UserCommand {
  static override summary = 'Make an old version of NAME current again (as a new version)'
  static override description = 'Works for removed names too, while their history is kept (see dfs log).'
  static override examples = ['<%= config.bin %> restore notes/todo.txt --version 3']

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  static override flags = {
    version: Flags.integer({
      description: 'the version to bring back (see dfs log)',
      required: true,
      min: 1,
    }),
  }

  async run(): Promise<FileVersion> {
    const { args, flags } = await this.parse(Restore)
    const client = await this.proxy(flags)
    const restored = await client.restore(normaliseName(args.name), flags.version)
    this.say(`restored version ${flags.version}: ${describe(restored)}`)
    return restored
  }
}
