import { UserCommand } from '../../cli/user-command.ts'
import type { GroupView } from '../../protocol/types.ts'

export default class GroupList extends UserCommand {
  static override summary = 'List groups and their members'
  static override examples = ['<%= config.bin %> group list']

  async run(): Promise<GroupView[]> {
    const { flags } = await this.parse(GroupList)
    const client = await this.proxy(flags)
    const groups = await client.listGroups()
    for (const g of groups)
      this.say(`${g.group.padEnd(20)} ${Array.isArray(g.members) ? g.members.join(' ') : `(${g.members})`}`)
    return groups
  }
}
