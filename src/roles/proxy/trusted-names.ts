// What this proxy knows to be the current version of each name while its callback promise holds
// (callback-promise.ts): learned from the directory's answers (a locate, a commit), forgotten on any
// change to the name, a resync, a new epoch or a lost feed. An answer that was in flight while its
// name changed is not learned (the change may have overtaken it), unless the last change heard of
// is the very version the answer names (a proxy's own write is heard of before its answer comes).

import type { ServerView } from '../../protocol/types.ts'

/** Names remembered at most (the oldest learned go first): a few MB at most. */
const MAX_NAMES = 10_000
/** Names whose last change is remembered (past it, every answer in flight is distrusted). */
const MAX_CHANGED = 100_000

/**
 * What a read needs of a holder. The directory's answers carry each server's whole view (free
 * bytes, heartbeat, background jobs): kept with every name, that was ~1.3 KB a name, so 10,000
 * names read took 9 MB of the proxy's heap, and the 100,000 it may remember would have taken 130.
 */
export type TrustedServer = Pick<ServerView, 'id' | 'url' | 'live'>

export interface TrustedVersion {
  name: string
  version: number
  sha256: string
  /** At most one block (protocol/blocks.ts): its one digest is `sha256`. */
  size: number
  owner: string
  group: string
  mode: number
  servers: TrustedServer[]
  primary: number
}

export class TrustedNames {
  private readonly names = new Map<string, TrustedVersion>()
  /** The tick of each name's last change heard of, and the version it made (-1: a removal). */
  private readonly changedAt = new Map<string, { tick: number; version: number }>()
  /** One object for each holder as names see it, shared by every name it holds. */
  private readonly servers = new Map<string, TrustedServer>()
  private tick = 0
  /** Answers asked for before this tick are not learned (what changed then is no longer known). */
  private floor = 0

  /** Call before asking the directory: pass what it returns to learn() with the answer. */
  asking(): number {
    return this.tick
  }

  /** Learns an answer asked for at `asked`, unless its name changed (or all was forgotten) since. */
  learn(file: TrustedVersion, asked: number): void {
    if (asked < this.floor) return
    const last = this.changedAt.get(file.name)
    if (last && last.tick > asked && last.version !== file.version) return
    this.names.delete(file.name)
    this.names.set(file.name, { ...file, servers: file.servers.map((server) => this.shared(server)) })
    if (this.names.size > MAX_NAMES) this.names.delete(this.names.keys().next().value!)
  }

  private shared(server: TrustedServer): TrustedServer {
    const key = `${server.id} ${server.live} ${server.url}`
    let view = this.servers.get(key)
    if (!view) {
      view = { id: server.id, url: server.url, live: server.live }
      this.servers.set(key, view)
    }
    return view
  }

  get(name: string): TrustedVersion | undefined {
    return this.names.get(name)
  }

  /** A change to `name` was heard of: the version it made, or -1 for a removal. */
  changed(name: string, version: number): void {
    this.tick++
    this.names.delete(name)
    this.changedAt.set(name, { tick: this.tick, version })
    if (this.changedAt.size > MAX_CHANGED) {
      this.changedAt.clear()
      this.floor = this.tick
    }
  }

  forgetAll(): void {
    this.tick++
    this.names.clear()
    this.changedAt.clear()
    this.servers.clear()
    this.floor = this.tick
  }
}
