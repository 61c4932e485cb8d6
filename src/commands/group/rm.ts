import { Args } from '@oclif/core'
import { UserCommand } from '../../cli/user-command.ts'
import type { GroupView } from '../../protocol/types.ts'

export default class GroupRm extends UserCommand {
  static override summary = 'Remove users from a group, or with none named the group itself (admin)'
  static override examples = ['<%= config.bin %> group rm team bob', '<%= config.bin %> group rm team']
  static override strict = false

  static override args = { group: Args.string({ description: 'group name', required: true }) }

  async run(): Promise<GroupView | { removed: string }> {
    const { args, argv, flags } = await this.parse(GroupRm)
    const users = (argv as string[]).slice(1)
    const client = await this.proxy(flags)
    const result = await client.removeFromGroup(args.group, users)
    this.say(
      'removed' in result
        ? `removed group ${result.removed}`
        : `${result.group}: ${Array.isArray(result.members) ? result.members.join(' ') : result.members}`,
    )
    return result
  }
}
