import { Args } from '@oclif/core'
import { bytes, time } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import { normaliseName } from '../protocol/names.ts'
import { formatMode, octalMode } from '../protocol/permissions.ts'
import type { Located } from '../protocol/types.ts'

export default class Stat extends UserCommand {
  static override summary = "Show a file's version, size, sha256 and the servers holding it"
  static override examples = [
    '<%= config.bin %> stat docs/report.pdf',
    '<%= config.bin %> stat docs/report.pdf --json',
  ]

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  async run(): Promise<Located> {
    const { args, flags } = await this.parse(Stat)
    const client = await this.proxy(flags)
    const file = await client.stat(normaliseName(args.name))
    this.say(`name     ${file.name}`)
    this.say(`version  ${file.version}`)
    this.say(`size     ${bytes(file.size)} (${file.size} bytes)`)
    this.say(`sha256   ${file.sha256}`)
    this.say(`written  ${time(file.mtime)} by ${file.writer}`)
    if (file.mode !== undefined)
      this.say(`owner    ${file.owner}:${file.group}  ${octalMode(file.mode)} ${formatMode(file.mode)}`)
    this.say(`primary  ${file.primary}`)
    for (const id of file.holders) {
      const server = file.servers.find((s) => s.id === id)
      const state = server ? `${server.url}${server.live ? '' : ' (not live)'}` : '(unknown server)'
      this.say(`holder   ${id}  ${state}`)
    }
    if (file.lock) {
      const { lock } = file
      this.say(
        `lock     held by ${lock.user} (proxy ${lock.proxy}) since ${time(lock.since)}, expires ${time(lock.expires)}, ${lock.waiting} waiting`,
      )
    } else {
      this.say('lock     free')
    }
    return file
  }
}
