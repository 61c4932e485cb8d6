import { Args } from '@oclif/core'
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { HeldLease } from '../cli/lease.ts'
import { leaseFlags } from '../cli/lease-flags.ts'
import { UserCommand } from '../cli/user-command.ts'
import { DfsError } from '../protocol/errors.ts'
import { normaliseName } from '../protocol/names.ts'

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
    const name = normaliseName(args.name)
    const command = (argv as string[]).slice(1)
    if (command.length === 0)
      throw new DfsError('DFS_USAGE', 'give a command to run: dfs lock NAME -- CMD [ARGS...]')
    const client = await this.proxy(flags)
    const lease = await HeldLease.acquire(client, name, flags.wait, flags.ttl)
    let status: number
    try {
      const env = { ...process.env, DFS_LOCK_NAME: name, DFS_LOCK_TOKEN: lease.key, DFS_PROXY: client.url }
      // With --json, stdout is for dfs's one document: the command's output goes to stderr.
      status = await run(command, env, this.jsonEnabled() ? 'stderr' : 'stdout')
    } finally {
      await lease.release()
    }
    if (lease.lost && status === 0) throw lease.lost
    process.exitCode = status
    const { token, since } = lease.lease
    return { name, token, since, status }
  }
}

/** What --json prints: the lease the command ran under (never its secret key), and its status. */
interface LockResult {
  name: string
  token: number
  since: number
  status: number
}

function run(command: string[], env: NodeJS.ProcessEnv, output: 'stdout' | 'stderr'): Promise<number> {
  const [file, ...rest] = command
  return new Promise((resolve, reject) => {
    // File descriptor 2 for its stdout: the command writes straight to dfs's stderr.
    const child = spawn(file!, rest, {
      stdio: ['inherit', output === 'stdout' ? 'inherit' : 2, 'inherit'],
      env,
    })
    child.once('error', (error) => reject(new DfsError('DFS_USAGE', `cannot run ${file}: ${error.message}`)))
    child.once('exit', (code, signal) =>
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
    )
  })
}
