import { Args } from '@oclif/core'
import { bytes, time } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import { normalisePrefix } from '../protocol/names.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Ls extends UserCommand {
  static override summary = 'List files, optionally under a prefix'
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls docs/ --json']

  static override args = {
    prefix: Args.string({ description: 'only names starting with this' }),
  }

  async run(): Promise<FileVersion[]> {
    const { args, flags } = await this.parse(Ls)
    const client = await this.proxy(flags)
    const files = await client.list(normalisePrefix(args.prefix))
    for (const f of files)
      this.say(`${bytes(f.size).padStart(10)}  ${time(f.mtime)}  v${f.version}  ${f.name}`)
    return files
  }
}
