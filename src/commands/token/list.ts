import { time } from '../../cli/format.ts'
import { tokenAdmin } from '../../cli/token-admin.ts'
import { UserCommand } from '../../cli/user-command.ts'
import type { TokenView } from '../../protocol/types.ts'

export default class TokenList extends UserCommand {
  static override summary = 'List join tokens (never their secrets)'
  static override examples = [
    '<%= config.bin %> token list --data /srv/dfs',
    '<%= config.bin %> token list --json',
  ]

  async run(): Promise<TokenView[]> {
    const { flags } = await this.parse(TokenList)
    const admin = await tokenAdmin(flags)
    try {
      const tokens = await admin.list()
      const now = Date.now()
      for (const t of tokens) {
        const state = t.revoked
          ? 'revoked'
          : t.expires !== 0 && t.expires <= now
            ? 'expired'
            : t.usesLeft === 0
              ? 'used up'
              : 'valid'
        this.say(
          `${t.id}  ${t.role.padEnd(10)}  ${state.padEnd(7)}  uses left ${t.usesLeft ?? 'unlimited'}  expires ${t.expires === 0 ? 'never' : time(t.expires)}  by ${t.createdBy}`,
        )
      }
      return tokens
    } finally {
      await admin.close()
    }
  }
}
