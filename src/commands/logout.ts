import { UserCommand } from '../cli/user-command.ts'
import { openSettings } from '../cli/settings.ts'

export default class Logout extends UserCommand {
  static override summary = 'End this session (at the directory, for every proxy) and forget it here'
  static override examples = ['<%= config.bin %> logout']

  async run(): Promise<{ loggedOut: boolean }> {
    const { flags } = await this.parse(Logout)
    const client = await this.proxy(flags)
    const result = await client.logout()
    openSettings().delete('token')
    this.say('logged out')
    return result
  }
}
