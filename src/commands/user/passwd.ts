import { Args } from '@oclif/core'
import { readPassword } from '../../cli/prompt.ts'
import { openSettings } from '../../cli/settings.ts'
import { UserCommand } from '../../cli/user-command.ts'

export default class UserPasswd extends UserCommand {
  static override summary = "Change your password (or, as admin, anyone's); every session of that user ends"
  static override description =
    'Asks for the current password (yours) and the new one; when scripted, DFS_PASSWORD is the current and DFS_NEW_PASSWORD the new one. Changing your own keeps you logged in here with a new session.'
  static override examples = ['<%= config.bin %> user passwd', '<%= config.bin %> user passwd bob']

  static override args = { user: Args.string({ description: 'user name (default: you)' }) }

  async run(): Promise<{ user: string; sessionsEnded: number }> {
    const { args, flags } = await this.parse(UserPasswd)
    const client = await this.proxy(flags)
    const me = await client.whoami()
    const user = args.user ?? me.user
    const current =
      user === me.user && !me.admin
        ? (process.env.DFS_PASSWORD ?? (await readPassword('current password: ')))
        : undefined
    const password = process.env.DFS_NEW_PASSWORD ?? (await readPassword(`new password for ${user}: `))
    const changed = await client.changePassword({
      ...(args.user ? { user } : {}),
      ...(current === undefined ? {} : { current }),
      password,
    })
    if (changed.session) openSettings().set('token', changed.session.token)
    this.say(`password of ${changed.user} changed; ${changed.sessionsEnded} sessions ended`)
    return { user: changed.user, sessionsEnded: changed.sessionsEnded }
  }
}
