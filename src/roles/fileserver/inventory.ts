// A file server's inventory and garbage collection. The first inventory after a start lists every
// blob held, in pages of a hash range each; later ones send only what changed since the listing the
// directory acknowledged (its generation), so a server with a million blobs and nothing new sends a
// few bytes, and the directory looks up only what changed. The listing itself stays, on disk
// (listing.ts): it is local, and it is how a blob lost behind our back is noticed. A full inventory
// is sent again when the directory asks (it restarted, or lost track of us), and every `fullEveryMs`
// anyway, for what changes cannot tell: blobs that became garbage because we stopped being their
// holder (repair moved the copy off a draining server), and anything lost in ways nobody foresaw.
// Blobs of versions the directory pruned, the common garbage, it names in its next answer to changes.

import type { DirectoryClient } from '../../client/directory-client.ts'
import {
  INVENTORY_PAGE,
  type InventoryAnswer,
  type InventoryChanges,
  type InventoryPageAnswer,
} from '../../protocol/types.ts'
import type { BlobStore } from '../../storage/blob-store.ts'
import { Listings, type Walk } from './listing.ts'

export interface InventoryOptions {
  /** Unreferenced blobs younger than this are kept: a write in flight may still commit them. */
  graceMs: number
  /** A full inventory at least this often, even when the directory takes changes. */
  fullEveryMs: number
  /** Blobs a page of a full inventory carries (INVENTORY_PAGE unless a test wants many pages). */
  pageSize?: number
}

export interface InventoryRun {
  held: number
  collected: number
  /** Whether the whole list was sent (else only changes). */
  full: boolean
}

/** What the directory's answers to the pages of a full inventory leave us with. */
interface FullOutcome {
  /** What the next inventory of changes is relative to; none if the directory gave none. */
  generation?: number
  /** The directory's clock when it answered the last page: the next inventory's `asOf`. */
  now: number
  recheck: string[]
  /** Unreferenced blobs kept for their grace period, to ask about again. */
  pending: Set<string>
  collected: number
}

export class BlobInventory {
  private readonly id: number
  private readonly store: BlobStore
  private readonly directory: DirectoryClient
  /** The listing the directory last acknowledged, and the one being made. */
  private readonly listings: Listings
  /** The directory's generation for the acknowledged listing. */
  private generation?: number
  /** The directory's clock when it last answered (see `asOf` in the directory's inventory.ts). */
  private asOf?: number
  private lastFull = -Infinity
  /** Blobs stored since the last listing began: one lost before a listing saw it is missing all the same. */
  private written = new Set<string>()
  /** Blobs we lacked that a fresh version names: the directory asked to hear again if still missing. */
  private recheck: string[] = []
  /** Blobs the directory called unreferenced while still within their grace: asked about again. */
  private pending = new Set<string>()

  /** `dir` keeps the listings (a few hundred MB for ten million blobs). */
  constructor(id: number, store: BlobStore, directory: DirectoryClient, dir: string) {
    this.id = id
    this.store = store
    this.directory = directory
    this.listings = new Listings(dir)
  }

  /**
   * One inventory, then garbage collection: each blob the directory calls unreferenced is deleted
   * once older than the grace period, and asked about again until then.
   */
  async run(now: number, options: InventoryOptions): Promise<InventoryRun> {
    // The first time, ask the directory's clock before listing: versions committed after it are
    // left out of the comparison, as their blobs may land after the listing began.
    const since = this.asOf ?? (await this.directory.clock()).now
    const written = this.written
    this.written = new Set()
    try {
      return await this.report(now, options, since, written)
    } catch (error) {
      // Not told yet: the next run tells them.
      for (const sha256 of written) this.written.add(sha256)
      throw error
    }
  }

  /** A blob we just stored (a write, a replica, a repair copy). */
  stored(sha256: string): void {
    this.written.add(sha256)
  }

  private async report(
    now: number,
    options: InventoryOptions,
    since: number,
    written: Set<string>,
  ): Promise<InventoryRun> {
    const changes = this.takesChanges(now, options) && (await this.listings.hasCurrent())
    const watch = new Set([...written, ...this.recheck, ...this.pending])
    const walk = await this.listings.walk(this.store.list(), changes, watch)
    const answer = changes ? await this.sendChanges(walk, since, written) : undefined
    if (answer) {
      await this.listings.keep()
      this.generation = answer.generation
      this.asOf = answer.now
      this.recheck = answer.recheck ?? []
      this.pending = new Set()
      const collected = await this.collect(answer.unreferenced, now, options.graceMs, this.pending)
      return { held: walk.held, collected, full: false }
    }
    // The same listing serves: it began after `since` all the same.
    const outcome = await this.sendFull(since, now, options)
    await this.listings.keep()
    this.lastFull = now
    this.generation = outcome.generation
    this.asOf = outcome.now
    this.recheck = outcome.recheck
    this.pending = outcome.pending
    return { held: walk.held, collected: outcome.collected, full: true }
  }

  private takesChanges(now: number, options: InventoryOptions): boolean {
    return this.generation !== undefined && now - this.lastFull < options.fullEveryMs
  }

  /** What changed since the acknowledged listing; undefined if the directory wants a full inventory. */
  private async sendChanges(
    walk: Walk,
    asOf: number,
    written: Set<string>,
  ): Promise<InventoryAnswer | undefined> {
    const lost = new Set(walk.removed)
    for (const sha256 of [...written, ...this.recheck]) if (!walk.present.has(sha256)) lost.add(sha256)
    const changes: InventoryChanges = {
      base: this.generation!,
      added: walk.added,
      removed: [...lost],
      check: [...this.pending].filter((sha256) => walk.present.has(sha256)),
      asOf,
    }
    const answer = await this.directory.inventoryChanges(this.id, changes)
    return 'needFull' in answer ? undefined : answer
  }

  /**
   * The walk's listing, a page at a time, each covering the hashes after the last one's end;
   * garbage is collected as each answer names it. A page that fails ends the inventory: the
   * directory took the pages before it (each is right on its own) but gives it no generation, and
   * the next inventory is full again.
   */
  private async sendFull(asOf: number, now: number, options: InventoryOptions): Promise<FullOutcome> {
    // The directory forgets our generation at the first page.
    this.generation = undefined
    const outcome = { recheck: [] as string[], pending: new Set<string>(), collected: 0 }
    let answer: InventoryPageAnswer | undefined
    let after: string | undefined
    for await (const { blobs, last } of this.listings.pages(options.pageSize ?? INVENTORY_PAGE)) {
      const end = last ? undefined : blobs.at(-1)
      const inventory = answer?.inventory
      answer = await this.directory.inventoryPage(this.id, { blobs, after, last: end, inventory, asOf })
      outcome.recheck.push(...(answer.recheck ?? []))
      outcome.collected += await this.collect(answer.unreferenced, now, options.graceMs, outcome.pending)
      after = end
    }
    // A listing always has a last page (an empty one if nothing is held).
    return { ...outcome, generation: answer!.generation, now: answer!.now }
  }

  /**
   * Deletes the unreferenced blobs past their grace; the younger ones go into `pending`, to be asked
   * about next time.
   */
  private async collect(
    unreferenced: string[],
    now: number,
    graceMs: number,
    pending: Set<string>,
  ): Promise<number> {
    // All pending first: if a removal fails, the blobs not looked at yet are asked about next time.
    for (const sha256 of unreferenced) pending.add(sha256)
    let collected = 0
    for (const sha256 of unreferenced) {
      const modified = await this.store.modified(sha256)
      if (modified !== undefined && now - modified <= graceMs) continue
      if (modified !== undefined) {
        await this.store.remove(sha256)
        collected++
      }
      pending.delete(sha256)
    }
    return collected
  }
}
