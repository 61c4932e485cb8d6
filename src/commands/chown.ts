import { Args, Flags } from '@oclif/core'
import { UserCommand } from '../cli/user-command.ts'
import { DfsError } from '../protocol/errors.ts'
import { target } from './chmod.ts'

export default class Chown extends UserCommand {
  static override summary = "Change a name's owner and/or group"
  static override description =
    'Giving a name to another user is for admins; its owner may change its group to one they are in. With -R and a prefix, changes the default of the prefix and the names below it.'
  static override examples = [
    '<%= config.bin %> chown alice notes/plan.md',
    '<%= config.bin %> chown :team shared/plan.md',
    '<%= config.bin %> chown -R alice:team home/alice/',
  ]

  static override args = {
    owner: Args.string({ description: 'USER, USER:GROUP or :GROUP', required: true }),
    name: Args.string({ description: 'name in dfs, or a prefix ending in / with -R', required: true }),
  }

  static override flags = {
    recursive: Flags.boolean({ char: 'R', description: 'the prefix NAME/ and every name below it' }),
  }

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(Chown)
    const [owner, group, ...rest] = args.owner.split(':')
    if (rest.length > 0 || (!owner && !group))
      throw new DfsError('DFS_USAGE', `give USER, USER:GROUP or :GROUP, not ${JSON.stringify(args.owner)}`)
    const client = await this.proxy(flags)
    const name = target(args.name, flags.recursive)
    const changed = await client.setPerms({
      name,
      ...(owner ? { owner } : {}),
      ...(group ? { group } : {}),
    })
    this.say(`${name}: ${String(changed.owner)}:${String(changed.group)}`)
    return changed
  }
}
