import { Args, Flags } from '@oclif/core'
import { readPassword } from '../../cli/prompt.ts'
import { UserCommand } from '../../cli/user-command.ts'
import type { AccountView } from '../../protocol/types.ts'

export default class UserAdd extends UserCommand {
  static override summary = 'Add a user (admin)'
  static override description =
    'The password comes from a prompt, or DFS_NEW_PASSWORD / the first line of stdin when scripted; at least 8 characters.'
  static override examples = [
    '<%= config.bin %> user add alice',
    'DFS_NEW_PASSWORD=… <%= config.bin %> user add bob --admin',
  ]

  static override args = { user: Args.string({ description: 'user name', required: true }) }
  static override flags = { admin: Flags.boolean({ description: 'may manage users, groups and nodes' }) }

  async run(): Promise<AccountView> {
    const { args, flags } = await this.parse(UserAdd)
    const client = await this.proxy(flags)
    const password = process.env.DFS_NEW_PASSWORD ?? (await readPassword(`password for ${args.user}: `))
    const added = await client.addUser({ user: args.user, password, admin: flags.admin })
    this.say(`added ${added.user}${added.admin ? ' (admin)' : ''}`)
    return added
  }
}
