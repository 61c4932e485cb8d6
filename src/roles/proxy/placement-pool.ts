// Placements for new small files, fetched from the directory a batch at a time: a write of a new
// name then goes straight to its primary, whose commit is the only call to the directory it makes
// (the commit checks the name, the writer's permission and the servers again). Each placement is
// used once; a batch is given up on after a short while, so liveness and free space stay the
// directory's recent word.

import type { Clock } from '../../server/clock.ts'
import type { PlacementBatch, ServerView } from '../../protocol/types.ts'

/** The largest write a pooled placement is for: one a name refused at commit wastes little of. */
export const POOLED_MAX_BYTES = 1024 * 1024
/** Placements asked for at a time. */
const BATCH = 64
/** How long a batch is used. */
const FRESH_MS = 2_000

export interface PooledPlacement {
  primary: ServerView
  replicas: ServerView[]
  wanted: number
}

export interface PlacementPoolDeps {
  clock: Clock
  /** Asks the directory for `count` placements of files up to `size` bytes. */
  fetch(size: number, count: number): Promise<PlacementBatch>
}

export class PlacementPool {
  private readonly deps: PlacementPoolDeps
  private pool: PooledPlacement[] = []
  private fetchedAt = 0
  private refilling = false

  constructor(deps: PlacementPoolDeps) {
    this.deps = deps
  }

  /**
   * A placement for a new file, or undefined when none is at hand (the caller asks the directory for
   * one the usual way). Running low starts a refill in the background.
   */
  take(): PooledPlacement | undefined {
    if (this.deps.clock.now() - this.fetchedAt > FRESH_MS) this.pool = []
    const placement = this.pool.pop()
    if (this.pool.length < BATCH / 2) this.refill()
    return placement
  }

  /** Server `id` could not be reached: no placement on it is handed out. */
  avoid(id: number): void {
    this.pool = this.pool.filter((p) => p.primary.id !== id && !p.replicas.some((r) => r.id === id))
  }

  private refill(): void {
    if (this.refilling) return
    this.refilling = true
    const asked = this.deps.clock.now()
    this.deps
      .fetch(POOLED_MAX_BYTES, BATCH)
      .then(
        ({ placements, wanted }) => {
          this.pool = placements.map((p) => ({ ...p, wanted }))
          this.fetchedAt = asked
        },
        // The cluster is short of servers, or the directory is away: writes ask one at a time, and
        // say why if they fail.
        () => undefined,
      )
      .finally(() => {
        this.refilling = false
      })
  }
}
