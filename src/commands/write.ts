import { Args, Flags } from '@oclif/core'
import { HeldLease } from '../cli/lease.ts'
import { leaseFlags } from '../cli/lease-flags.ts'
import { describe, upload } from '../cli/upload.ts'
import { UserCommand } from '../cli/user-command.ts'
import { transferFlags } from '../cli/transfer-flags.ts'
import { LEASE_KEY } from '../protocol/lease-key.ts'
import { normaliseName } from '../protocol/names.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Write extends UserCommand {
  static override summary = 'Replace NAME with stdin, under its write lock (write mode for scripts)'
  static override description =
    'Takes the write lock (waiting in line), replaces the file with stdin, and releases the lock once the new version is on every copy. Inside `dfs lock NAME -- ...` it writes under that lock instead.'
  static override examples = [
    'date | <%= config.bin %> write logs/last-run.txt --create',
    "<%= config.bin %> lock counter -- sh -c 'echo $(( $(dfs get counter -) + 1 )) | dfs write counter'",
  ]

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  static override flags = {
    create: Flags.boolean({ description: 'allow NAME to be new', default: false }),
    ...leaseFlags,
    ...transferFlags,
  }

  async run(): Promise<FileVersion> {
    const { args, flags } = await this.parse(Write)
    const name = normaliseName(args.name)
    const client = await this.proxy(flags)
    const inherited = inheritedLease(name)
    const lease =
      inherited === undefined ? await HeldLease.acquire(client, name, flags.wait, flags.ttl) : undefined
    try {
      const { version, shown } = await upload(client, '-', name, {
        show: !this.jsonEnabled() && !flags.quiet,
        lease: inherited ?? lease?.key,
        create: flags.create,
      })
      if (!shown) this.say(describe(version))
      return version
    } finally {
      await lease?.release()
    }
  }
}

/** The lease key of an enclosing `dfs lock` on the same name, passed down through the environment. */
function inheritedLease(name: string): string | undefined {
  const lockedName = process.env.DFS_LOCK_NAME
  const key = process.env.DFS_LOCK_TOKEN
  if (!lockedName || !key || !LEASE_KEY.test(key)) return undefined
  return normaliseName(lockedName) === name ? key : undefined
}
