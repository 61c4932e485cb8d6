import { time } from '../../cli/format.ts'
import { UserCommand } from '../../cli/user-command.ts'
import type { AccountView } from '../../protocol/types.ts'

export default class UserList extends UserCommand {
  static override summary = 'List users, with their groups (admin)'
  static override examples = ['<%= config.bin %> user list', '<%= config.bin %> user list --json']

  async run(): Promise<AccountView[]> {
    const { flags } = await this.parse(UserList)
    const client = await this.proxy(flags)
    const users = await client.listUsers()
    for (const u of users)
      this.say(
        `${u.user.padEnd(20)} ${(u.admin ? 'admin' : '').padEnd(6)} ${time(u.created)}  ${u.groups.join(',')}`,
      )
    return users
  }
}
