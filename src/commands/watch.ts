import { Args, Flags } from '@oclif/core'
import { createInterface } from 'node:readline'
import { bytes, time } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import { normalisePrefix } from '../protocol/names.ts'
import type { ChangeEvent } from '../protocol/types.ts'

export default class Watch extends UserCommand {
  static override summary = 'Print changes to files (under PREFIX) as they happen'
  static override description =
    'Runs until interrupted. With --json, prints one JSON object per line, one per change.'
  static override examples = ['<%= config.bin %> watch', '<%= config.bin %> watch docs/ --json']
  // A stream of documents, not one: --json here means one JSON line per change.
  static override enableJsonFlag = false

  static override args = {
    prefix: Args.string({ description: 'only names starting with this' }),
  }

  static override flags = {
    json: Flags.boolean({ description: 'one JSON object per line', default: false }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Watch)
    const client = await this.proxy(flags)
    const response = await client.events(normalisePrefix(args.prefix))
    for await (const line of createInterface({ input: response })) {
      if (!line.startsWith('data: ')) continue
      const event = JSON.parse(line.slice(6)) as ChangeEvent
      if (flags.json) this.log(JSON.stringify(event))
      else this.log(describe(event))
    }
  }
}

function describe(event: ChangeEvent): string {
  const what = event.type === 'rm' ? 'removed' : `v${event.version} ${bytes(event.size)}`
  return `${time(event.at)}  ${event.type.padEnd(3)} ${event.name}  ${what}  by ${event.writer}`
}
