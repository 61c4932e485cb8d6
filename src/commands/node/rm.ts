import { Args, Flags } from '@oclif/core'
import { parseNodeRef } from '../../cli/node-ref.ts'
import { UserCommand } from '../../cli/user-command.ts'

export default class NodeRm extends UserCommand {
  static override summary = 'Remove a node: revoke its certificate, so the cluster refuses it from now on'
  static override description =
    "A file server's copies stop counting and repair makes them again elsewhere. Refused while it holds the only copy of a version (drain it first), unless --force: a server that is gone for good."
  static override examples = ['<%= config.bin %> node rm 3', '<%= config.bin %> node rm proxy:2']

  static override args = {
    node: Args.string({ description: 'the node: 3, fileserver:3 or proxy:2', required: true }),
  }
  static override flags = {
    force: Flags.boolean({ description: 'even if it holds the only copy of some versions', default: false }),
  }

  async run(): Promise<{ revoked: number; copies: number }> {
    const { args, flags } = await this.parse(NodeRm)
    const node = parseNodeRef(args.node)
    const client = await this.proxy(flags)
    const result = await client.removeNode({ ...node, force: flags.force })
    this.say(
      `${node.role} ${node.id} removed: ${result.revoked} certificates revoked${node.role === 'fileserver' ? `, ${result.copies} copies to make again` : ''}`,
    )
    return result
  }
}
