// File servers' inventories. A full one lists every blob a server holds (on its start, when we ask
// for it, and at a slow interval); after that a server sends only what changed since the inventory
// we last acknowledged. Either way the server stops being a holder of versions whose blob it lacks
// (repair copies them again), and hears which of its blobs no kept version names: garbage, which it
// collects after a grace period.
//
// What we keep per server is in memory: the generation we last acknowledged, and the blobs of that
// server whose versions we pruned since. Nothing else is needed to apply changes (each blob added or
// removed is one look-up in the holders index), and losing it is safe: after a restart, or when a
// server turns to another directory, its generation is unknown here and we ask for a full inventory,
// which tells us everything again.

import type { MetadataStore } from '../../metadata/store.ts'
import type { FileVersion, InventoryAnswer, InventoryChanges, InventoryResync } from '../../protocol/types.ts'
import type { Clock, Random } from '../../server/clock.ts'

interface ServerInventory {
  generation: number
  /** Blobs of this server whose version we pruned since `generation`: maybe garbage now. */
  released: Set<string>
}

/**
 * A server that sends nothing for a long time (dead, cut off) must not grow its released set
 * without end: past this many, its state is dropped, and it sends a full inventory next time.
 */
const RELEASED_MAX = 100_000

export interface InventoryDeps {
  store: MetadataStore
  clock: Clock
  random: Random
  /** Stops counting `server` as a holder of the versions `which` picks (the directory's own). */
  dropCopies(server: number, which: (version: FileVersion) => boolean): Promise<number>
}

export class Inventories {
  private readonly deps: InventoryDeps
  private readonly servers = new Map<number, ServerInventory>()

  constructor(deps: InventoryDeps) {
    this.deps = deps
  }

  /**
   * A server's full inventory. `asOf` is our clock when we answered its previous inventory, so
   * before it began this listing: a version committed since may have had its blob stored after the
   * listing, and is left for the next inventory (`recheck`); otherwise every holder of a fresh
   * version could be dropped, and its blobs then collected as garbage.
   */
  async full(server: number, blobs: string[], asOf?: number): Promise<InventoryAnswer> {
    const now = this.deps.clock.now()
    // Made before looking: a version pruned while we work is released into the new generation.
    const state = this.begin(server)
    try {
      const held = new Set(blobs)
      const recheck = new Set<string>()
      await this.deps.dropCopies(server, (v) => {
        if (held.has(v.sha256)) return false
        if (asOf === undefined || v.mtime <= asOf) return true
        recheck.add(v.sha256)
        return false
      })
      const unreferenced = await this.deps.store.unreferenced(server, blobs)
      return { unreferenced, now, generation: state.generation, recheck: [...recheck] }
    } catch (error) {
      this.forget(server, state)
      throw error
    }
  }

  /**
   * What changed on a server since `changes.base`: holders of versions whose blob it lost are
   * dropped (with the same `asOf` rule as a full inventory), and the answer names the unreferenced
   * among the blobs it gained, the ones it asks about again, and those whose last version on it we
   * pruned since. A base we do not know (we restarted, or it is another directory's) asks for a
   * full inventory; so does a base we acknowledged already, whose answer the server never got.
   */
  async changes(server: number, changes: InventoryChanges): Promise<InventoryAnswer | InventoryResync> {
    const now = this.deps.clock.now()
    const known = this.servers.get(server)
    if (known?.generation !== changes.base) return { needFull: true, now }
    const state = this.begin(server)
    try {
      const recheck: string[] = []
      for (const sha256 of new Set(changes.removed)) {
        if (await this.lost(server, sha256, changes.asOf)) recheck.push(sha256)
      }
      const candidates = new Set([...changes.added, ...changes.check, ...known.released])
      const unreferenced = await this.deps.store.unreferenced(server, [...candidates])
      return { unreferenced, now, generation: state.generation, recheck }
    } catch (error) {
      // What was released before is not lost: the full inventory this leads to covers it.
      this.forget(server, state)
      throw error
    }
  }

  /**
   * Versions just pruned: their blobs may have been the last reference on their holders. Servers
   * whose generation we do not know send a full inventory anyway.
   */
  released(versions: FileVersion[]): void {
    for (const version of versions) {
      for (const server of version.holders) {
        const state = this.servers.get(server)
        if (!state) continue
        state.released.add(version.sha256)
        if (state.released.size > RELEASED_MAX) this.servers.delete(server)
      }
    }
  }

  /**
   * `server` no longer has `sha256`: it stops being a holder of the versions naming it, except those
   * committed after `asOf` (whether the blob is missing for them is asked again). Whether any was.
   */
  private async lost(server: number, sha256: string, asOf: number): Promise<boolean> {
    let later = false
    for (const version of await this.deps.store.versionsWithBlob(server, sha256)) {
      if (version.mtime > asOf) {
        later = true
        continue
      }
      const rest = version.holders.filter((id) => id !== server)
      await this.deps.store.setHolders(version.name, version.version, rest)
    }
    return later
  }

  /** A new generation for `server`, with nothing released yet. */
  private begin(server: number): ServerInventory {
    // Random, so a generation of another directory (or of ours before a restart) is never taken for ours.
    const state = {
      generation: 1 + Math.floor(this.deps.random.next() * 2 ** 47),
      released: new Set<string>(),
    }
    this.servers.set(server, state)
    return state
  }

  /** A generation whose answer failed: the server's next inventory must be full. */
  private forget(server: number, state: ServerInventory): void {
    if (this.servers.get(server) === state) this.servers.delete(server)
  }
}
