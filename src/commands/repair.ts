import { Flags } from '@oclif/core'
import { bytes } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import type { RepairTask } from '../roles/directory/repairer.ts'

export default class Repair extends UserCommand {
  static override summary =
    'Show (--dry-run) or run now the copies that bring every version back to its replica count'
  static override description =
    'The directory repairs on its own, at a bounded rate; this shows its plan, most endangered first, or runs one pass at once.'
  static override examples = ['<%= config.bin %> repair --dry-run', '<%= config.bin %> repair']

  static override flags = {
    'dry-run': Flags.boolean({ description: 'only show the plan', default: false }),
  }

  async run(): Promise<{ plan: RepairTask[]; copied?: number }> {
    const { flags } = await this.parse(Repair)
    const client = await this.proxy(flags)
    const plan = await client.repairPlan()
    if (plan.length === 0) this.say('every version has its copies')
    for (const t of plan) {
      this.say(
        `${t.name} v${t.version} (${bytes(t.size)}): ${t.copies.length} ${t.copies.length === 1 ? 'copy' : 'copies'}; ${t.target && t.source ? `copy ${t.source.id} -> ${t.target.id}` : `waiting: ${t.waiting}`}`,
      )
    }
    if (flags['dry-run'] || plan.length === 0) return { plan }
    const { copied } = await client.repairRun()
    this.say(`copied ${copied} of ${plan.length}`)
    return { plan, copied }
  }
}
