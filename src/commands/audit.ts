import { Flags } from '@oclif/core'
import { duration } from '../cli/duration.ts'
import { time } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import type { AuditEntry } from '../protocol/types.ts'

export default class Audit extends UserCommand {
  static override summary = "Show the directory's audit log, oldest first (admin)"
  static override description =
    'Logins (failed and throttled ones too), writes, removals, restores, chmod and chown, users and groups, join tokens, and nodes joining, drained or removed: one line each with the time, action, user or node, client address, name and outcome.'
  static override examples = [
    '<%= config.bin %> audit --since 1h',
    '<%= config.bin %> audit --user bob --since 7d --limit 50',
    '<%= config.bin %> audit --json',
  ]

  static override flags = {
    user: Flags.string({ description: 'only what this user did' }),
    since: duration({ description: 'only this far back (30m, 1h, 7d)' }),
    limit: Flags.integer({ description: 'the newest this many', default: 1000, min: 1, max: 10_000 }),
  }

  async run(): Promise<AuditEntry[]> {
    const { flags } = await this.parse(Audit)
    const client = await this.proxy(flags)
    const entries = await client.audit({
      user: flags.user,
      since: flags.since === undefined ? undefined : Date.now() - flags.since,
      limit: flags.limit,
    })
    for (const entry of entries) this.say(line(entry))
    return entries
  }
}

/** time, action, who, from where, what, and how it went. */
function line(entry: AuditEntry): string {
  const who = entry.user ?? entry.node ?? '-'
  const what = entry.version === undefined ? (entry.name ?? '-') : `${entry.name ?? '-'} v${entry.version}`
  return [
    time(entry.ms),
    entry.action.padEnd(12),
    who.padEnd(16),
    (entry.client ?? '-').padEnd(15),
    what,
    entry.detail ? `${entry.outcome} (${entry.detail})` : entry.outcome,
  ].join('  ')
}
