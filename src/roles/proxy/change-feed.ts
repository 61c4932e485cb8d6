// The proxy's subscription to the directory's change stream (server-sent events): reconnects with
// backoff and resumes after the last change it saw (each carries its number in the feed, which every
// directory sharing a store serves alike), so a broken link, a restarted directory or a move to
// another directory loses nothing. It tells its listeners of every change, and of a `resync` when
// changes may have been missed: on the first connection, and when the directory no longer keeps the
// changes after the number it resumes from. It says once when the stream is lost (`lost`, with the
// reason and the directory) and once when it is back (`back`, with the directory that answered),
// not at every retry; its state shows in the proxy's status. With several directories it follows the
// one the proxy's calls use (one DirectoryFailover), and a broken stream moves both on to the next.

import { EventEmitter } from 'node:events'
import { createInterface } from 'node:readline'
import type { NodeAgent } from '../../client/agent.ts'
import type { DirectoryFailover } from '../../client/failover.ts'
import type { ChangeEvent, ChangeFeedState } from '../../protocol/types.ts'
import type { Clock } from '../../server/clock.ts'
import { reason } from '../../server/logger.ts'

export class ChangeFeed extends EventEmitter<{
  change: [ChangeEvent]
  resync: []
  /** Where the feed stands on (re)connecting: every change after this number will follow. */
  position: [number]
  /** Who may read what changed (the directory's callback epoch: roles/directory/callbacks.ts). */
  epoch: [number]
  lost: [unknown, string]
  back: [string]
}> {
  private readonly directories: DirectoryFailover
  private readonly agent: NodeAgent
  private readonly clock: Clock
  private readonly controller = new AbortController()
  private stopped = false
  private readonly current: ChangeFeedState = { connected: false }
  /** Lost (or never reached) since we last said so: the next connection says it is back. */
  private lost = false
  /** The number of the last change seen (or the feed's position when we joined): resume after it. */
  private seq?: number

  constructor(directories: DirectoryFailover, agent: NodeAgent, clock: Clock) {
    super()
    this.directories = directories
    this.agent = agent
    this.clock = clock
  }

  get state(): ChangeFeedState {
    return { ...this.current }
  }

  start(): void {
    void this.run()
  }

  stop(): void {
    this.stopped = true
    this.controller.abort()
  }

  private async run(): Promise<void> {
    const count = this.directories.urls.length
    for (let failures = 0; !this.stopped;) {
      const directory = this.directories.using()
      try {
        await this.follow(directory.url, () => {
          failures = 0
          this.directories.answered(directory.index)
        })
        // A stream the directory ends (it restarted, say) is lost like one that breaks.
        throw new Error('the directory ended the change stream')
      } catch (error) {
        failures++
        if (!this.stopped) {
          this.directories.lost(directory.index, error)
          this.down(error, directory.url)
        }
      }
      if (this.stopped) return
      // The next directory at once; a pause, growing, once each has failed in turn.
      const rounds = Math.floor(failures / count)
      const delay = failures % count !== 0 ? 0 : Math.min(250 * 2 ** Math.min(rounds, 5), 5000)
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }

  /** Connects and emits each change until the stream ends; `connected` runs once it is up. */
  private async follow(url: string, connected: () => void): Promise<void> {
    this.current.directory = url
    const after = this.seq === undefined ? '' : `?after=${this.seq}`
    const response = await this.agent.request(`${url}/v1/events${after}`, {
      signal: this.controller.signal,
      bodyTimeout: 0,
      headers: { accept: 'text/event-stream' },
    })
    if (response.statusCode !== 200) {
      response.body.resume()
      throw new Error(`HTTP ${response.statusCode}`)
    }
    connected()
    this.up(url)
    // Nothing seen yet: whatever the listeners know may be stale.
    if (this.seq === undefined) this.emit('resync')
    let event = 'message'
    for await (const line of createInterface({ input: response.body })) {
      if (line.startsWith('event: ')) event = line.slice(7)
      else if (line.startsWith('data: ')) this.received(event, line.slice(6))
      else if (line === '') event = 'message'
    }
  }

  /** One event of the stream: a change, where the feed stands, or word that changes were missed. */
  private received(event: string, data: string): void {
    let parsed: ChangeEvent | { seq?: unknown; epoch?: unknown }
    try {
      parsed = JSON.parse(data) as ChangeEvent | { seq?: unknown; epoch?: unknown }
    } catch {
      // A line we cannot read is skipped; the read path asks the directory anyway.
      return
    }
    const seq = typeof parsed.seq === 'number' ? parsed.seq : undefined
    if (event === 'epoch') {
      const { epoch } = parsed as { epoch?: unknown }
      if (typeof epoch === 'number') this.emit('epoch', epoch)
      return
    }
    if (event === 'message') this.emit('change', parsed as ChangeEvent)
    else if (event === 'resync') this.emit('resync')
    else if (event !== 'position') return
    if (seq !== undefined) this.seq = seq
    if (event !== 'message' && seq !== undefined) this.emit('position', seq)
  }

  private up(url: string): void {
    this.current.connected = true
    if (this.lost) this.emit('back', url)
    this.lost = false
  }

  private down(error: unknown, url: string): void {
    this.current.connected = false
    this.current.lastError = { at: this.clock.now(), message: reason(error) }
    if (!this.lost) this.emit('lost', error, url)
    this.lost = true
  }
}
