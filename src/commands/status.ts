import { bytes, time } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import type { ProxyStatus } from '../client/proxy-client.ts'

export default class Status extends UserCommand {
  static override summary = 'Show the cluster: file servers, their space and liveness, and file counts'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json']

  async run(): Promise<ProxyStatus> {
    const { flags } = await this.parse(Status)
    const client = await this.proxy(flags)
    const status = await client.status()
    this.say(`proxy ${status.proxy.id} at ${client.url}, logged in as ${status.proxy.user}`)
    this.say(`${status.files} files, ${bytes(status.bytes)}, ${status.replicas} copies each`)
    const cache = status.proxy.cache
    this.say(
      `proxy cache: ${cache.entries} files, ${bytes(cache.bytes)} of ${bytes(cache.maxBytes)}; ${cache.hits} hits, ${cache.misses} misses, ${bytes(cache.bytesFromCache)} served from cache, ${cache.evictions} evictions, ${cache.corrupt} corrupt dropped`,
    )
    const { repair } = status
    this.say(
      `repair: ${repair.underReplicated} versions under-replicated, ${repair.lost} lost, ${repair.repaired} copies made, ${repair.failed} failed`,
    )
    if (status.reports.length > 0) {
      this.say(
        `${status.reports.length} bad copies reported (latest: server ${status.reports.at(-1)?.server})`,
      )
    }
    for (const s of status.servers) {
      this.say(
        `fileserver ${s.id}  ${s.live ? 'live' : s.dead ? 'DEAD' : 'DOWN'}  ${s.url}  free ${bytes(s.freeBytes)}  last heartbeat ${time(s.lastHeartbeat)}`,
      )
    }
    return status
  }
}
