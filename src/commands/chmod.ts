import { Args, Flags } from '@oclif/core'
import { UserCommand } from '../cli/user-command.ts'
import { DfsError } from '../protocol/errors.ts'
import { normaliseName, normalisePrefix } from '../protocol/names.ts'
import { formatMode, octalMode } from '../protocol/permissions.ts'

export default class Chmod extends UserCommand {
  static override summary = "Change a name's mode, or with -R the default of a prefix"
  static override description =
    'Modes are read (4) and write (2) for the owner, the group and others, in octal (640) or symbolic (u+w, go-r, a=r) form; execute bits are dropped. With -R and a prefix ending in /, sets the mode new names below it get, who may make them, and changes the names already there that you own.'
  static override examples = [
    '<%= config.bin %> chmod 600 notes/secret.txt',
    '<%= config.bin %> chmod g+w shared/plan.md',
    '<%= config.bin %> chmod -R 700 home/alice/',
  ]

  static override args = {
    mode: Args.string({ description: 'octal (640) or symbolic (u+w,go-r)', required: true }),
    name: Args.string({ description: 'name in dfs, or a prefix ending in / with -R', required: true }),
  }

  static override flags = {
    recursive: Flags.boolean({ char: 'R', description: 'the prefix NAME/ and every name below it' }),
  }

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(Chmod)
    const client = await this.proxy(flags)
    const name = target(args.name, flags.recursive)
    const changed = await client.setPerms({ name, mode: args.mode })
    const mode = Number(changed.mode)
    const extra = flags.recursive ? ` (and ${String(changed.changed)} names below)` : ''
    this.say(`${name}: ${octalMode(mode)} ${formatMode(mode)}${extra}`)
    return changed
  }
}

/** A name, or with -R a prefix (always ending in '/'). */
export function target(raw: string, recursive: boolean): string {
  if (!recursive) {
    if (raw.endsWith('/'))
      throw new DfsError('DFS_USAGE', `${raw} is a prefix: use -R to change the names below it`)
    return normaliseName(raw)
  }
  const prefix = normalisePrefix(raw.endsWith('/') ? raw : `${raw}/`)
  return prefix === '' ? '/' : prefix
}
