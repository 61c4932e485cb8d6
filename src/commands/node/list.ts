import { bytes, time } from '../../cli/format.ts'
import { UserCommand } from '../../cli/user-command.ts'
import type { NodeView } from '../../protocol/types.ts'

export default class NodeList extends UserCommand {
  static override summary = "List the cluster's nodes: file servers and proxies, their certificates and state"
  static override examples = ['<%= config.bin %> node list', '<%= config.bin %> node list --json']

  async run(): Promise<NodeView[]> {
    const { flags } = await this.parse(NodeList)
    const client = await this.proxy(flags)
    const nodes = await client.listNodes()
    for (const n of nodes) {
      const cert = n.revoked
        ? 'REVOKED'
        : n.certExpires
          ? `cert until ${time(n.certExpires)}`
          : 'no certificate'
      const server = n.server
        ? `  ${n.server.live ? 'live' : n.server.dead ? 'DEAD' : 'DOWN'}${n.server.draining ? (n.holds ? ', draining' : ', drained') : ''}  ${n.server.url}  free ${bytes(n.server.freeBytes)}  ${n.holds ?? 0} versions`
        : ''
      this.say(`${n.role} ${n.id}  ${cert}${server}`)
    }
    return nodes
  }
}
