import { Args } from '@oclif/core'
import { tokenAdmin } from '../../cli/token-admin.ts'
import { UserCommand } from '../../cli/user-command.ts'

export default class TokenRevoke extends UserCommand {
  static override summary = 'Revoke a join token: nothing can join with it from now on'
  static override examples = ['<%= config.bin %> token revoke 3f9a1c0b7d2e --data /srv/dfs']

  static override args = {
    id: Args.string({ description: 'the token id (dfs token list), or the whole token', required: true }),
  }

  async run(): Promise<{ revoked: string }> {
    const { args, flags } = await this.parse(TokenRevoke)
    // The whole token works too: its id is the third part.
    const id = args.id.startsWith('dfs1.') ? (args.id.split('.')[2] ?? '') : args.id
    const admin = await tokenAdmin(flags)
    try {
      await admin.revoke(id)
      this.say(`revoked ${id}`)
      return { revoked: id }
    } finally {
      await admin.close()
    }
  }
}
