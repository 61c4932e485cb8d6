import { Args } from '@oclif/core'
import { bytes, time } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import { normaliseName } from '../protocol/names.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Log extends UserCommand {
  static override summary = 'List the kept versions of NAME, newest first (removed names too)'
  static override examples = [
    '<%= config.bin %> log notes/todo.txt',
    '<%= config.bin %> log notes/todo.txt --json',
  ]

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  async run(): Promise<FileVersion[]> {
    const { args, flags } = await this.parse(Log)
    const client = await this.proxy(flags)
    const versions = await client.history(normaliseName(args.name))
    for (const v of versions) {
      this.say(
        `v${String(v.version).padEnd(5)} ${time(v.mtime)}  ${bytes(v.size).padStart(10)}  ${v.sha256.slice(0, 16)}  by ${v.writer}`,
      )
    }
    return versions
  }
}
