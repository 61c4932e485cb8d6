// Chooses the servers for a new file: R distinct live servers with room for it, drawn with weight by
// free space, so the emptiest servers fill first and successive files still land on different sets.

import type { Random } from '../../server/clock.ts'
import type { ServerView } from '../../protocol/types.ts'

/** Whether a server may be given `size` new bytes: live, not draining (dfs node drain), with room. */
export function canTake(server: ServerView, size: number): boolean {
  return server.live && !server.draining && server.freeBytes > size
}

export function choosePlacement(
  servers: ServerView[],
  replicas: number,
  size: number,
  random: Random,
): ServerView[] {
  const pool = servers.filter((s) => canTake(s, size))
  const chosen: ServerView[] = []
  while (chosen.length < replicas && pool.length > 0) {
    const total = pool.reduce((sum, s) => sum + Math.max(s.freeBytes, 1), 0)
    let ticket = random.next() * total
    let index = pool.findIndex((s) => (ticket -= Math.max(s.freeBytes, 1)) < 0)
    if (index < 0) index = pool.length - 1
    chosen.push(...pool.splice(index, 1))
  }
  return chosen
}
