import { Args } from '@oclif/core'
import { UserCommand } from '../../cli/user-command.ts'

export default class UserRm extends UserCommand {
  static override summary = 'Remove a user and end their sessions (admin); their names keep them as owner'
  static override examples = ['<%= config.bin %> user rm bob']

  static override args = { user: Args.string({ description: 'user name', required: true }) }

  async run(): Promise<{ removed: string }> {
    const { args, flags } = await this.parse(UserRm)
    const client = await this.proxy(flags)
    const removed = await client.removeUser(args.user)
    this.say(`removed ${removed.removed}`)
    return removed
  }
}
