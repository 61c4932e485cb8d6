// The proxy's subscription to the directory's change stream (server-sent events): reconnects with
// backoff, and tells its listeners of every change, and of every reconnection (when changes may
// have been missed).

import { EventEmitter } from 'node:events'
import { createInterface } from 'node:readline'
import { request, type Agent } from 'undici'
import type { ChangeEvent } from '../../protocol/types.ts'

export class ChangeFeed extends EventEmitter<{ change: [ChangeEvent]; resync: [] }> {
  private readonly url: string
  private readonly agent: Agent
  private readonly controller = new AbortController()
  private stopped = false

  constructor(directoryUrl: string, agent: Agent) {
    super()
    this.url = `${directoryUrl}/v1/events`
    this.agent = agent
  }

  start(): void {
    void this.run()
  }

  stop(): void {
    this.stopped = true
    this.controller.abort()
  }

  private async run(): Promise<void> {
    for (let failures = 0; !this.stopped;) {
      try {
        const response = await request(this.url, {
          dispatcher: this.agent,
          signal: this.controller.signal,
          bodyTimeout: 0,
          headers: { accept: 'text/event-stream' },
        })
        if (response.statusCode !== 200) {
          await response.body.dump()
          throw new Error(`HTTP ${response.statusCode}`)
        }
        failures = 0
        this.emit('resync')
        for await (const line of createInterface({ input: response.body })) {
          if (!line.startsWith('data: ')) continue
          try {
            this.emit('change', JSON.parse(line.slice(6)) as ChangeEvent)
          } catch {
            // A line we cannot read is skipped; the read path asks the directory anyway.
          }
        }
      } catch {
        failures++
      }
      if (this.stopped) return
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** Math.min(failures, 5), 5000)))
    }
  }
}
