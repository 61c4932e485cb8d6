import { Args } from '@oclif/core'
import { leaseFlags } from '../cli/lease-flags.ts'
import { runLocked, type LockResult } from '../cli/run-locked.ts'
import { UserCommand } from '../cli/user-command.ts'

export default class Lock extends UserCommand {
  static override summary = 'Hold the write lock on NAME while a command runs'
  static override description =
    "Waits in line for the lock, runs the command with DFS_LOCK_NAME and DFS_LOCK_TOKEN set (so `dfs write NAME` inside writes under this lock), renews the lock while it runs, and releases it when it ends. Exits with the command's status. With --json, the command's own output goes to stderr and stdout holds one document once it ends: the name, the lease's fencing token, when it was taken, and the command's status."
  static override examples = [
    'echo 0 | <%= config.bin %> put - counter',
    "<%= config.bin %> lock counter -- sh -c 'echo $(( $(dfs get counter -) + 1 )) | dfs write counter'",
    '<%= config.bin %> lock backups/db.tar --wait 10m -- ./backup.sh',
    '<%= config.bin %> lock counter --json -- ./bump.sh   # {"name":"counter","token":7,…,"status":0}',
  ]
  static override strict = false

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  static override flags = { ...leaseFlags }

  async run(): Promise<LockResult> {
    const { args, argv, flags } = await this.parse(Lock)
    return runLocked({ ...flags, name: args.name, command: (argv as string[]).slice(1) }, this.context())
  }
}
