import { Args, Flags } from '@oclif/core'
import { once } from 'node:events'
import { bytes, time } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import { normalisePrefix } from '../protocol/names.ts'
import { formatMode } from '../protocol/permissions.ts'
import type { FileVersion, PrefixRuleView } from '../protocol/types.ts'

export default class Ls extends UserCommand {
  static override summary = 'List the files you may read, optionally under a prefix'
  static override examples = [
    '<%= config.bin %> ls',
    '<%= config.bin %> ls -l docs/',
    '<%= config.bin %> ls docs/ --json',
  ]

  static override description =
    'Every name is listed, a page at a time as they arrive (with --json too: one array, streamed), unless --limit says fewer.'

  static override flags = {
    long: Flags.boolean({ char: 'l', description: 'show mode, owner and group too' }),
    limit: Flags.integer({ description: 'list at most this many names', min: 1 }),
    rules: Flags.boolean({ description: 'list the prefix rules (dfs chmod -R) instead of names' }),
  }

  static override args = {
    prefix: Args.string({ description: 'only names starting with this' }),
  }

  async run(): Promise<PrefixRuleView[] | undefined> {
    const { args, flags } = await this.parse(Ls)
    const client = await this.proxy(flags)
    if (flags.rules) {
      const prefix = normalisePrefix(args.prefix)
      const rules = (await client.prefixRules()).filter((r) => r.prefix.startsWith(prefix))
      for (const r of rules)
        this.say(`${formatMode(r.mode)}  ${r.owner.padEnd(12)} ${r.group.padEnd(12)} ${r.prefix}`)
      return rules
    }
    const out = new Lines(this.jsonEnabled())
    for await (const f of client.list(normalisePrefix(args.prefix), flags.limit)) {
      const perms = flags.long
        ? `${formatMode(f.mode ?? 0)}  ${(f.owner ?? '?').padEnd(12)} ${(f.group ?? '?').padEnd(12)}`
        : ''
      await out.write(f, `${perms}${bytes(f.size).padStart(10)}  ${time(f.mtime)}  v${f.version}  ${f.name}`)
    }
    await out.end()
    // Already written, streamed: nothing for oclif to print.
    return undefined
  }
}

/**
 * Writes names as they come, with backpressure: one line each, or with --json one array whose
 * elements go out one by one, so a listing of millions never sits in memory.
 */
class Lines {
  private readonly json: boolean
  private count = 0

  constructor(json: boolean) {
    this.json = json
  }

  async write(file: FileVersion, line: string): Promise<void> {
    const text = this.json ? `${this.count === 0 ? '[' : ','}\n  ${JSON.stringify(file)}` : `${line}\n`
    this.count++
    await put(text)
  }

  async end(): Promise<void> {
    if (this.json) await put(this.count === 0 ? '[]\n' : '\n]\n')
  }
}

async function put(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain')
}
