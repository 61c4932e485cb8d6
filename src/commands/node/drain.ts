import { Args } from '@oclif/core'
import { parseNodeRef } from '../../cli/node-ref.ts'
import { UserCommand } from '../../cli/user-command.ts'
import { DfsError } from '../../protocol/errors.ts'

export default class NodeDrain extends UserCommand {
  static override summary = 'Drain a file server: copy what it holds elsewhere, and place nothing new on it'
  static override description =
    'Repair copies its blobs to other servers, most endangered first; dfs node list shows it drained once it holds no version that counts on it. Then dfs node rm removes it.'
  static override examples = ['<%= config.bin %> node drain 3']

  static override args = {
    node: Args.string({ description: 'the file server: 3 or fileserver:3', required: true }),
  }

  async run(): Promise<{ draining: number }> {
    const { args, flags } = await this.parse(NodeDrain)
    const { role, id } = parseNodeRef(args.node)
    if (role !== 'fileserver') throw new DfsError('DFS_USAGE', 'only file servers hold data to drain')
    const client = await this.proxy(flags)
    const result = await client.drainNode(id)
    this.say(`file server ${id} is draining: see dfs node list`)
    return result
  }
}
