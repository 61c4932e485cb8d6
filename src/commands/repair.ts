// `dfs repair`: shows the directory's repair plan, or makes its copies now (at the repair rate, waiting
// for its turn) and says which failed and how many versions are still short.

import { Flags } from '@oclif/core'
import { PartialFailure } from '../cli/base-command.ts'
import { bytes } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import type { RepairFailure } from '../protocol/types.ts'
import type { RepairTask } from '../roles/directory/repairer.ts'

export interface RepairOutput {
  plan: RepairTask[]
  copied?: number
  failures?: RepairFailure[]
  /** Versions still short of their copies when the run ended. */
  left?: number
}

export default class Repair extends UserCommand {
  static override summary =
    'Show (--dry-run) or make now the copies that bring every version back to its replica count'
  static override description = [
    'The directory repairs on its own, at a bounded rate; this shows its plan, most endangered first, or makes every copy it can at once.',
    'It keeps to --repair-rate, waiting for its turn rather than leaving copies for later, so when it ends the copies it could make are made.',
    'A copy that fails is printed with its reason, and the command then exits 1 (DFS_UNAVAILABLE); so it does if any version is still short at the end (no server to copy from or to: see --dry-run). With --json the one JSON document printed holds the plan, `copied`, `failures` ({name, version, source, target, error} each), `left` and `error`.',
  ].join('\n')
  static override examples = ['<%= config.bin %> repair --dry-run', '<%= config.bin %> repair']

  static override flags = {
    'dry-run': Flags.boolean({ description: 'only show the plan', default: false }),
  }

  async run(): Promise<RepairOutput> {
    const { flags } = await this.parse(Repair)
    const client = await this.proxy(flags)
    const plan = await client.repairPlan()
    if (plan.length === 0) this.say('every version has its copies')
    for (const t of plan) this.say(describeTask(t))
    if (flags['dry-run']) return { plan }
    // Nothing to do is a run that did nothing: a script reads the same fields either way.
    if (plan.length === 0) return { plan, copied: 0, failures: [], left: 0 }
    const { copied, failures, left = 0 } = await client.repairRun()
    for (const f of failures)
      this.say(`failed: ${f.name} v${f.version} ${f.source} -> ${f.target}: ${f.error}`)
    this.say(`copied ${copied} of ${plan.length}${left > 0 ? `; ${left} still short` : ''}`)
    const output = { plan, copied, failures, left }
    const [first] = failures
    if (first) {
      const tried = copied + failures.length
      throw new PartialFailure(
        'DFS_UNAVAILABLE',
        `${failures.length} of ${tried} copies failed: ${first.error}`,
        output,
      )
    }
    if (left > 0)
      throw new PartialFailure(
        'DFS_UNAVAILABLE',
        `${left} ${left === 1 ? 'version is' : 'versions are'} still short of copies: see dfs repair --dry-run for why`,
        output,
      )
    return output
  }
}

function describeTask(t: RepairTask): string {
  const copies = `${t.copies.length} ${t.copies.length === 1 ? 'copy' : 'copies'}`
  const action =
    t.source && t.target
      ? `copy ${t.source.id} -> ${t.target.id}`
      : `waiting: ${t.waiting ?? 'no server can take a copy'}`
  return `${t.name} v${t.version} (${bytes(t.size)}): ${copies}; ${action}`
}
