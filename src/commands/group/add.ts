import { Args } from '@oclif/core'
import { UserCommand } from '../../cli/user-command.ts'
import type { GroupView } from '../../protocol/types.ts'

export default class GroupAdd extends UserCommand {
  static override summary = 'Make a group, or add users to one (admin)'
  static override examples = ['<%= config.bin %> group add team alice bob']
  static override strict = false

  static override args = { group: Args.string({ description: 'group name', required: true }) }

  async run(): Promise<GroupView> {
    const { args, argv, flags } = await this.parse(GroupAdd)
    const users = (argv as string[]).slice(1)
    const client = await this.proxy(flags)
    const group = await client.addToGroup(args.group, users)
    this.say(`${group.group}: ${Array.isArray(group.members) ? group.members.join(' ') : group.members}`)
    return group
  }
}
