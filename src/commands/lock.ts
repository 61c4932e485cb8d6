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
    "Waits in line for the lock, runs the command with DFS_LOCK_NAME and DFS_LOCK_TOKEN set (so `dfs write NAME` inside writes under this lock), renews the lock while it runs, and releases it when it ends. Exits with the command's status."
  static override examples = [
    "<%= config.bin %> lock counter -- sh -c 'echo $(( $(dfs get counter -) + 1 )) | dfs write counter'",
  ]
  static override strict = false
  static override enableJsonFlag = false

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  static override flags = { ...leaseFlags }

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Lock)
    const name = normaliseName(args.name)
    const command = (argv as string[]).slice(1)
    if (command.length === 0)
      throw new DfsError('DFS_USAGE', 'give a command to run: dfs lock NAME -- CMD [ARGS...]')
    const client = await this.proxy(flags)
    const lease = await HeldLease.acquire(client, name, flags.wait, flags.ttl)
    let status: number
    try {
      status = await run(command, {
        ...process.env,
        DFS_LOCK_NAME: name,
        DFS_LOCK_TOKEN: lease.key,
        DFS_PROXY: client.url,
      })
    } finally {
      await lease.release()
    }
    if (lease.lost && status === 0) throw lease.lost
    process.exitCode = status
  }
}

function run(command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...rest] = command
  return new Promise((resolve, reject) => {
    const child = spawn(file!, rest, { stdio: 'inherit', env })
    child.once('error', (error) => reject(new DfsError('DFS_USAGE', `cannot run ${file}: ${error.message}`)))
    child.once('exit', (code, signal) =>
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
    )
  })
}
