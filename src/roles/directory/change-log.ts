// The change feed as one directory serves it. Changes live in the metadata store (each commit and
// removal appends one), numbered in order,
// so every directory sharing a store serves the same feed, and a subscriber that lost its stream
// (a broken link, a directory restarted, another directory taking over) resumes after the last
// number it saw. When it asks for numbers the store no longer keeps, it is told to `resync`: events
// were missed, and whatever it caches from them must be checked again.

import type { MetadataStore, StoredChange } from '../../metadata/store.ts'
import { reason, type Logger } from '../../server/logger.ts'

/** Changes read from the store per query. */
const PAGE = 1000

/** What a subscriber is sent: changes, its starting point, or word that it missed some. */
export interface FeedSink {
  change(change: StoredChange): void
  /** The feed's newest number when the subscription began: resume after it. */
  position(seq: number): void
  /** Changes after the asked-for number are gone: start again from `seq`. */
  resync(seq: number): void
}

interface Subscriber {
  sink: FeedSink
  /** The last number this subscriber was sent (or told to start after). */
  cursor: number
  /** Until its catch-up from the store is done, live changes wait here. */
  queue?: StoredChange[]
}

export class ChangeLog {
  private readonly store: MetadataStore
  /** Set by the app that serves the feed (route tests have none: failures then go unlogged). */
  log?: Pick<Logger, 'warn'>
  private readonly subscribers = new Set<Subscriber>()
  /** The newest number read from the store and passed on. */
  private last = 0
  /** Until the store said where its feed stands, nothing is read or subscribed. */
  private readonly ready: Promise<void>
  private reading?: Promise<void>
  private again = false
  private readonly unsubscribe: () => void

  constructor(store: MetadataStore) {
    this.store = store
    // Every notice may mean new changes: another directory's, or ours.
    this.unsubscribe = this.store.subscribe((notice) => {
      if (notice.kind === 'changes' || notice.kind === 'missed') this.read()
    })
    this.ready = store.changeBounds().then(
      ({ last }) => {
        this.last = last
      },
      () => undefined,
    )
  }

  close(): void {
    this.unsubscribe()
    this.subscribers.clear()
  }

  /** Reads what is new in the store and passes it on; one read at a time, again if asked meanwhile. */
  private read(): void {
    if (this.reading) {
      this.again = true
      return
    }
    this.reading = (async () => {
      await this.ready
      do {
        this.again = false
        for (;;) {
          const page = await this.store.changesSince(this.last, PAGE)
          for (const change of page) {
            this.last = change.seq
            for (const subscriber of this.subscribers) deliver(subscriber, change)
          }
          if (page.length < PAGE) break
        }
      } while (this.again)
    })()
      .catch((error: unknown) => {
        this.log?.warn({ err: error }, `reading the change feed failed: ${reason(error)}; will read again`)
      })
      .finally(() => {
        this.reading = undefined
      })
  }

  /**
   * Subscribes `sink` from now (`after` undefined), or from just after `after`: what it missed is
   * sent from the store first, then live changes, each exactly once and in order.
   */
  subscribe(after: number | undefined, sink: FeedSink): () => void {
    const subscriber: Subscriber = { sink, cursor: this.last, queue: [] }
    this.subscribers.add(subscriber)
    void this.ready
      .then(() => this.catchUp(subscriber, after))
      .catch((error: unknown) => {
        this.log?.warn({ err: error }, `catching a subscriber up on the change feed failed: ${reason(error)}`)
        // It cannot be told what it missed: it must look again at everything.
        subscriber.cursor = this.last
        sink.resync(this.last)
        this.goLive(subscriber)
      })
    return () => this.subscribers.delete(subscriber)
  }

  private async catchUp(subscriber: Subscriber, after: number | undefined): Promise<void> {
    if (after === undefined) {
      subscriber.cursor = Math.max(subscriber.cursor, this.last)
      subscriber.sink.position(subscriber.cursor)
      this.goLive(subscriber)
      return
    }
    const { first, last } = await this.store.changeBounds()
    // A number past the newest comes from another feed (a store that was replaced): resync too.
    if (after < first - 1 || after > last) {
      subscriber.cursor = last
      subscriber.sink.resync(last)
    } else {
      subscriber.cursor = after
      subscriber.sink.position(after)
      for (;;) {
        const page = await this.store.changesSince(subscriber.cursor, PAGE)
        for (const change of page) send(subscriber, change)
        if (page.length < PAGE) break
      }
    }
    this.goLive(subscriber)
  }

  private goLive(subscriber: Subscriber): void {
    const queued = subscriber.queue ?? []
    subscriber.queue = undefined
    for (const change of queued) send(subscriber, change)
  }
}

function deliver(subscriber: Subscriber, change: StoredChange): void {
  if (subscriber.queue) subscriber.queue.push(change)
  else send(subscriber, change)
}

/** Each number once, in order: what catch-up already sent is not sent again live. */
function send(subscriber: Subscriber, change: StoredChange): void {
  if (change.seq <= subscriber.cursor) return
  subscriber.cursor = change.seq
  subscriber.sink.change(change)
}
