// A file server's inventory and garbage collection. The first inventory after a start lists every
// blob held; later ones send only what changed since the listing the directory acknowledged (its
// generation), so a server with a million blobs and nothing new sends a few bytes, and the
// directory looks up only what changed. The listing itself stays: it is local, and it is how a blob
// lost behind our back is noticed. A full inventory is sent again when the directory asks (it
// restarted, or lost track of us), and every `fullEveryMs` anyway, for what changes cannot tell:
// blobs that became garbage because we stopped being their holder (repair moved the copy off a
// draining server), and anything lost in ways nobody foresaw. Blobs of versions the directory
// pruned, the common garbage, it names in its next answer to changes.

import type { DirectoryClient } from '../../client/directory-client.ts'
import type { InventoryAnswer, InventoryChanges } from '../../protocol/types.ts'
import type { BlobStore } from '../../storage/blob-store.ts'

export interface InventoryOptions {
  /** Unreferenced blobs younger than this are kept: a write in flight may still commit them. */
  graceMs: number
  /** A full inventory at least this often, even when the directory takes changes. */
  fullEveryMs: number
}

export interface InventoryRun {
  held: number
  collected: number
  /** Whether the whole list was sent (else only changes). */
  full: boolean
}

export class BlobInventory {
  private readonly id: number
  private readonly store: BlobStore
  private readonly directory: DirectoryClient
  /** The blobs as of the listing the directory last acknowledged, and its generation for them. */
  private reported = new Set<string>()
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

  constructor(id: number, store: BlobStore, directory: DirectoryClient) {
    this.id = id
    this.store = store
    this.directory = directory
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
    const held = new Set<string>()
    for await (const sha256 of this.store.list()) held.add(sha256)
    let answer = this.takesChanges(now, options) ? await this.sendChanges(held, since, written) : undefined
    const full = answer === undefined
    if (!answer) {
      // The same listing serves: it began after `since` all the same.
      answer = await this.directory.inventory(this.id, [...held], since)
      this.lastFull = now
    }
    this.reported = held
    this.generation = answer.generation
    this.asOf = answer.now
    this.recheck = answer.recheck ?? []
    const collected = await this.collect(answer.unreferenced, now, options.graceMs)
    return { held: held.size, collected, full }
  }

  private takesChanges(now: number, options: InventoryOptions): boolean {
    return this.generation !== undefined && now - this.lastFull < options.fullEveryMs
  }

  /** What changed since the acknowledged listing; undefined if the directory wants a full inventory. */
  private async sendChanges(
    held: Set<string>,
    asOf: number,
    written: Set<string>,
  ): Promise<InventoryAnswer | undefined> {
    const lost = [this.reported, written, this.recheck].flatMap((blobs) => absent(blobs, held))
    const changes: InventoryChanges = {
      base: this.generation!,
      added: absent(held, this.reported),
      removed: [...new Set(lost)],
      check: [...this.pending].filter((sha256) => held.has(sha256)),
      asOf,
    }
    const answer = await this.directory.inventoryChanges(this.id, changes)
    return 'needFull' in answer ? undefined : answer
  }

  /** Deletes the unreferenced blobs past their grace; the younger ones are asked about next time. */
  private async collect(unreferenced: string[], now: number, graceMs: number): Promise<number> {
    // All pending first: if a removal fails, the blobs not looked at yet are asked about next time.
    this.pending = new Set(unreferenced)
    let collected = 0
    for (const sha256 of unreferenced) {
      const modified = await this.store.modified(sha256)
      if (modified !== undefined && now - modified <= graceMs) continue
      if (modified !== undefined) {
        await this.store.remove(sha256)
        collected++
      }
      this.pending.delete(sha256)
    }
    return collected
  }
}

/** The blobs of `blobs` that `set` lacks. */
function absent(blobs: Iterable<string>, set: Set<string>): string[] {
  const missing: string[] = []
  for (const sha256 of blobs) if (!set.has(sha256)) missing.push(sha256)
  return missing
}
