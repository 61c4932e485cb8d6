import { Args, Flags } from '@oclif/core'
import { HeldLease } from '../cli/lease.ts'
import { leaseFlags } from '../cli/lease-flags.ts'
import { describe, upload } from '../cli/upload.ts'
import { UserCommand } from '../cli/user-command.ts'
import { transferFlags } from '../cli/transfer-flags.ts'
import { normaliseName } from '../protocol/names.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Put extends UserCommand {
  static override summary = 'Store a local file (or stdin with -) under NAME, on two file servers'
  static override examples = [
    '<%= config.bin %> put ./report.pdf docs/report.pdf',
    'tar c photos | <%= config.bin %> put - backups/photos.tar',
    '<%= config.bin %> put ./report.pdf docs/report.pdf --force   # replace it, under its write lock',
  ]

  static override args = {
    local: Args.string({ description: 'local file, or - for stdin', required: true }),
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  static override flags = {
    force: Flags.boolean({
      description: 'replace NAME if it exists (takes its write lock meanwhile)',
      default: false,
    }),
    ...leaseFlags,
    ...transferFlags,
  }

  async run(): Promise<FileVersion> {
    const { args, flags } = await this.parse(Put)
    const name = normaliseName(args.name)
    const client = await this.proxy(flags)
    const show = !this.jsonEnabled() && !flags.quiet
    const lease = flags.force ? await HeldLease.acquire(client, name, flags.wait, flags.ttl) : undefined
    try {
      const { version, shown } = await upload(client, args.local, name, {
        show,
        lease: lease?.key,
        create: true,
      })
      if (!shown) this.say(describe(version))
      return version
    } finally {
      await lease?.release()
    }
  }
}
