import { Flags } from '@oclif/core'
import { resolve } from 'node:path'
import { leaseFlags } from '../cli/lease-flags.ts'
import { Shell } from '../cli/shell-menu.ts'
import { UserCommand } from '../cli/user-command.ts'
import { DfsError } from '../protocol/errors.ts'

export default class ShellCommand extends UserCommand {
  static override summary = "The seed's interactive client: a menu to read, lock, write and upload files"
  static override description =
    'A numbered menu: 1 read a file, 2 request write mode (take its lock), 3 write (upload the edited local copy and release the lock), 4 upload a new file, l list, s status, q quit. File names complete with Tab from the namespace; local copies live under --dir, at the same relative name.'
  static override examples = ['<%= config.bin %> shell', '<%= config.bin %> shell --dir ~/dfs-local']
  static override enableJsonFlag = false

  static override flags = {
    dir: Flags.string({ description: 'where local copies live (NAME is kept at DIR/NAME)', default: '.' }),
    ...leaseFlags,
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(ShellCommand)
    if (!process.stdin.isTTY)
      throw new DfsError('DFS_USAGE', 'dfs shell needs a terminal; in scripts use the commands')
    const client = await this.proxy(flags)
    const { user } = await client.whoami()
    const global = [
      ...(flags.proxy ? ['--proxy', flags.proxy] : []),
      ...(flags.data ? ['--data', flags.data] : []),
    ]
    const shell = new Shell({
      client,
      user,
      dir: resolve(flags.dir),
      waitMs: flags.wait,
      ttlMs: flags.ttl,
      // The commands themselves print their output and errors; only whether they failed is kept.
      run: async (id, argv) => {
        process.exitCode = 0
        await this.config.runCommand(id, [...argv, ...global])
        const ok = !process.exitCode
        process.exitCode = 0
        return ok
      },
    })
    await shell.run()
  }
}
