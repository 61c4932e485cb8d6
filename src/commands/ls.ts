import { Args, Flags } from '@oclif/core'
import { bytes, time } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import { normalisePrefix } from '../protocol/names.ts'
import { formatMode } from '../protocol/permissions.ts'
import type { FileVersion, PrefixRuleView } from '../protocol/types.ts'

export default class Ls extends UserCommand {
  static override summary = 'List the files you may read, optionally under a prefix'
  static override examples = [
    '<%= config.bin %> ls',
    '<%= config.bin %> ls -l docs/',
    '<%= config.bin %> ls docs/ --json',
  ]

  static override flags = {
    long: Flags.boolean({ char: 'l', description: 'show mode, owner and group too' }),
    rules: Flags.boolean({ description: 'list the prefix rules (dfs chmod -R) instead of names' }),
  }

  static override args = {
    prefix: Args.string({ description: 'only names starting with this' }),
  }

  async run(): Promise<FileVersion[] | PrefixRuleView[]> {
    const { args, flags } = await this.parse(Ls)
    const client = await this.proxy(flags)
    if (flags.rules) {
      const prefix = normalisePrefix(args.prefix)
      const rules = (await client.prefixRules()).filter((r) => r.prefix.startsWith(prefix))
      for (const r of rules)
        this.say(`${formatMode(r.mode)}  ${r.owner.padEnd(12)} ${r.group.padEnd(12)} ${r.prefix}`)
      return rules
    }
    const files = await client.list(normalisePrefix(args.prefix))
    for (const f of files) {
      const perms = flags.long
        ? `${formatMode(f.mode ?? 0)}  ${(f.owner ?? '?').padEnd(12)} ${(f.group ?? '?').padEnd(12)}`
        : ''
      this.say(`${perms}${bytes(f.size).padStart(10)}  ${time(f.mtime)}  v${f.version}  ${f.name}`)
    }
    return files
  }
}
