// `dfs status`: the cluster as the proxy and the directory see it, and what went wrong in the
// background (repair, each file server's inventory and scrub, the proxy's change feed).

import { bytes, count, time } from '../cli/format.ts'
import { UserCommand } from '../cli/user-command.ts'
import type { ProxyStatus } from '../client/proxy-client.ts'
import type { ChangeFeedState, JobError, JobState } from '../protocol/types.ts'

export default class Status extends UserCommand {
  static override summary = 'Show the cluster: file servers, their space and liveness, and file counts'
  static override description =
    "Also shows the last error of each background job that has one (repair; each file server's inventory and scrub), the proxy's change feed when it is down or has failed, and which directory the proxy uses when it has several. --json prints the whole status object."
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json']

  async run(): Promise<ProxyStatus> {
    const { flags } = await this.parse(Status)
    const client = await this.proxy(flags)
    const status = await client.status()
    this.say(`proxy ${status.proxy.id} at ${client.url}, logged in as ${status.proxy.user}`)
    const directory = directoryLine(status.proxy)
    if (directory) this.say(directory)
    const feed = feedLine(status.proxy.changeFeed)
    if (feed) this.say(feed)
    this.say(
      `${count(status.files, 'file')}, ${bytes(status.bytes)}, ${count(status.replicas, 'copy', 'copies')} each`,
    )
    this.say(cacheLine(status.proxy.cache))
    const { repair } = status
    this.say(
      `repair: ${count(repair.underReplicated, 'version')} under-replicated, ${repair.lost} lost, ${count(repair.repaired, 'copy', 'copies')} made, ${repair.failed} failed`,
    )
    if (repair.lastError) this.say(`  repair ${errorLine(repair.lastError)}`)
    if (status.reports.length > 0) {
      this.say(
        `${count(status.reports.length, 'bad copy', 'bad copies')} reported (latest: server ${status.reports.at(-1)?.server})`,
      )
    }
    for (const s of status.servers) {
      this.say(
        `fileserver ${s.id}  ${s.live ? 'live' : s.dead ? 'DEAD' : 'DOWN'}  ${s.url}  free ${bytes(s.freeBytes)}  last heartbeat ${time(s.lastHeartbeat)}`,
      )
      for (const line of jobLines(s.jobs ?? {})) this.say(`  ${line}`)
    }
    return status
  }
}

/**
 * The proxy's cache. Bytes read out of it count every read it served, a miss's too once the blob was
 * fetched into it, so they are not "bytes from hits": they are named for what they are.
 */
function cacheLine(cache: ProxyStatus['proxy']['cache']): string {
  return [
    `proxy cache: ${count(cache.entries, 'file')}, ${bytes(cache.bytes)} of ${bytes(cache.maxBytes)}`,
    `${count(cache.hits, 'hit')}, ${count(cache.misses, 'miss', 'misses')}`,
    `${bytes(cache.bytesFetched)} fetched into it from file servers, ${bytes(cache.bytesFromCache)} read out of it`,
    `${count(cache.evictions, 'eviction')}, ${count(cache.corrupt, 'corrupt copy', 'corrupt copies')} dropped`,
  ].join('; ')
}

function errorLine(error: JobError): string {
  return `last error ${time(error.at)}: ${error.message}`
}

/** One line per job that has failed, saying whether it has run fine since. */
function jobLines(jobs: Record<string, JobState>): string[] {
  return Object.entries(jobs).flatMap(([name, job]) => {
    if (!job.lastError) return []
    const since = job.lastOk !== undefined && job.lastOk > job.lastError.at ? ' (fine since)' : ''
    return [`${name} ${errorLine(job.lastError)}${since}`]
  })
}

/** Which directory the proxy uses, when it was given several to fail over between. */
function directoryLine(proxy: ProxyStatus['proxy']): string | undefined {
  const all = proxy.directories ?? []
  if (!proxy.directory || all.length < 2) return undefined
  const others = all.filter((url) => url !== proxy.directory)
  return `directory in use: ${proxy.directory} (fails over to ${others.join(', ')})`
}

function feedLine(feed: ChangeFeedState): string | undefined {
  if (feed.connected && !feed.lastError) return undefined
  const state = feed.connected ? 'connected' : 'NOT CONNECTED'
  return `change feed from the directory: ${state}${feed.lastError ? `; ${errorLine(feed.lastError)}` : ''}`
}
