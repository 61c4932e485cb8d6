// File servers' inventories. A full one lists every blob a server holds (on its start, when we ask
// for it, and at a slow interval), in pages of a hash range each; after that a server sends only
// what changed since the inventory we last acknowledged. Either way the server stops being a holder
// of versions whose blob it lacks (repair copies them again), and hears which of its blobs no kept
// version names: garbage, which it collects after a grace period.
//
// What we keep per server is in memory: the generation we last acknowledged, and the blobs of that
// server whose versions we pruned since. Nothing else is needed to apply changes (each blob added or
// removed is one look-up in the holders index), and losing it is safe: after a restart, or when a
// server turns to another directory, its generation is unknown here and we ask for a full inventory,
// which tells us everything again.
//
// A full inventory's pages are each compared with the holders we recorded for that server in the
// page's hash range, and each comparison is right on its own: an inventory left midway (the server
// or we restarted) has done only true things. What a page cannot show is a version pruned after its
// range was compared; so a generation is given only with the last page of an inventory we followed
// from its first, with everything pruned since that first page released into it.

import type { MetadataStore } from '../../metadata/store.ts'
import { DfsError } from '../../protocol/errors.ts'
import type {
  FileVersion,
  InventoryAnswer,
  InventoryChanges,
  InventoryPage,
  InventoryPageAnswer,
  InventoryResync,
} from '../../protocol/types.ts'
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
/** Blobs read from the holders index at a time while comparing a page. */
const LOOKUP_PAGE = 5000

/** A full inventory arriving page by page, followed from its first page. */
interface PagedInventory {
  /** Its number, and the generation it gives once its last page is in. */
  number: number
  /** The `after` its next page must have: the `last` of the page before (none after the last). */
  next: string | undefined
  /** Blobs of this server whose version we pruned since its first page. */
  released: Set<string>
}

export interface InventoryDeps {
  store: MetadataStore
  clock: Clock
  random: Random
}

export class Inventories {
  private readonly deps: InventoryDeps
  private readonly servers = new Map<number, ServerInventory>()
  /** Full inventories whose pages are arriving, one a server at most. */
  private readonly underway = new Map<number, PagedInventory>()

  constructor(deps: InventoryDeps) {
    this.deps = deps
  }

  /**
   * An older file server's full inventory, its whole list in one request: one page, from the first
   * hash to the last.
   */
  async full(server: number, blobs: string[], asOf?: number): Promise<InventoryAnswer> {
    const { inventory: _, ...answer } = await this.page(server, { blobs: [...new Set(blobs)].sort(), asOf })
    return answer
  }

  /**
   * One page of a server's full inventory, compared with the holders we recorded for that server in
   * its range. `asOf` is our clock when we answered the server's previous inventory, so before it
   * began this listing: a version committed since may have had its blob stored after the listing,
   * and is left for the next inventory (`recheck`); otherwise every holder of a fresh version could
   * be dropped, and its blobs then collected as garbage.
   */
  async page(server: number, page: InventoryPage): Promise<InventoryPageAnswer> {
    const now = this.deps.clock.now()
    checkPage(page)
    // Followed before looking: a version pruned while we compare is released into the generation.
    const run = this.follow(server, page)
    try {
      const { unreferenced, recheck } = await this.compare(server, page)
      const answer = { unreferenced, now, recheck, inventory: run?.number ?? page.inventory! }
      if (page.last !== undefined || !run) return answer
      this.underway.delete(server)
      this.servers.set(server, { generation: run.number, released: run.released })
      return { ...answer, generation: run.number }
    } catch (error) {
      // The server's next inventory must be full: this one cannot end with a generation now.
      if (run && this.underway.get(server) === run) this.underway.delete(server)
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
   * Versions just pruned: their blobs may have been the last reference on their holders. A full
   * inventory under way keeps them for the generation it gives (its pages compared already cannot
   * tell); servers whose generation we do not know send a full inventory anyway.
   */
  released(versions: FileVersion[]): void {
    for (const version of versions) {
      for (const server of version.holders) {
        for (const known of [this.servers, this.underway]) {
          const state = known.get(server)
          if (!state) continue
          state.released.add(version.sha256)
          if (state.released.size > RELEASED_MAX) known.delete(server)
        }
      }
    }
  }

  /**
   * The inventory `page` belongs to, if we followed it from its first page: a first page starts one
   * (and ends what came before: changes wait for its generation), a page that takes up where the
   * last one ended continues it, one that does not breaks it (we restarted and lost its start, it
   * was sent twice, or went to another directory meanwhile). A page of an inventory we never saw is
   * compared all the same, and leaves the one under way alone.
   */
  private follow(server: number, page: InventoryPage): PagedInventory | undefined {
    const run = this.underway.get(server)
    if (page.after === undefined) {
      const started = { number: newNumber(this.deps.random), next: page.last, released: new Set<string>() }
      this.servers.delete(server)
      this.underway.set(server, started)
      return started
    }
    if (!run || run.number !== page.inventory) return undefined
    if (run.next !== page.after) {
      this.underway.delete(server)
      return undefined
    }
    run.next = page.last
    return run
  }

  /**
   * One page against the holders index over its range, both in hash order: a blob recorded there
   * but not in the page is lost (as in changes), and a blob of the page recorded nowhere is
   * unreferenced. A page of the index at a time, yielding between them: heartbeats go on meanwhile.
   */
  private async compare(
    server: number,
    page: InventoryPage,
  ): Promise<{ unreferenced: string[]; recheck: string[] }> {
    const { blobs } = page
    const unreferenced: string[] = []
    const recheck: string[] = []
    let i = 0
    for (let after = page.after; ;) {
      const held = await this.deps.store.blobsHeldIn(server, { after, last: page.last }, LOOKUP_PAGE)
      for (const sha256 of held) {
        while (i < blobs.length && blobs[i]! < sha256) unreferenced.push(blobs[i++]!)
        if (blobs[i] === sha256) i++
        else if (await this.lost(server, sha256, page.asOf)) recheck.push(sha256)
      }
      if (held.length < LOOKUP_PAGE) break
      after = held.at(-1)
      await new Promise((resolve) => setImmediate(resolve))
    }
    for (; i < blobs.length; i++) unreferenced.push(blobs[i]!)
    return { unreferenced, recheck }
  }

  /**
   * `server` no longer has `sha256`: it stops being a holder of the versions naming it, except those
   * committed after `asOf` (whether the blob is missing for them is asked again). Whether any was.
   * Without `asOf` (an older file server's first inventory), every such version.
   */
  private async lost(server: number, sha256: string, asOf: number | undefined): Promise<boolean> {
    let later = false
    for (const version of await this.deps.store.versionsWithBlob(server, sha256)) {
      if (asOf !== undefined && version.mtime > asOf) {
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
    const state = { generation: newNumber(this.deps.random), released: new Set<string>() }
    this.servers.set(server, state)
    return state
  }

  /** A generation whose answer failed: the server's next inventory must be full. */
  private forget(server: number, state: ServerInventory): void {
    if (this.servers.get(server) === state) this.servers.delete(server)
  }
}

/**
 * A generation or an inventory's number: random, so one of another directory (or of ours before a
 * restart) is never taken for ours.
 */
function newNumber(random: Random): number {
  return 1 + Math.floor(random.next() * 2 ** 47)
}

/** A page must be what it says: its blobs in increasing order, within its range. */
function checkPage(page: InventoryPage): void {
  const bad = (why: string) => new DfsError('DFS_BAD_REQUEST', `inventory page: ${why}`)
  if (page.after !== undefined && page.inventory === undefined)
    throw bad('a page after the first must name its inventory')
  if (page.after !== undefined && page.last !== undefined && page.last <= page.after)
    throw bad('its range ends before it begins')
  let previous = page.after
  for (const sha256 of page.blobs) {
    if (previous !== undefined && sha256 <= previous)
      throw bad(`blobs out of order, or not after the range's start, at ${sha256}`)
    previous = sha256
  }
  if (page.last !== undefined && previous !== undefined && previous > page.last)
    throw bad(`a blob past the range's end, ${previous}`)
}
