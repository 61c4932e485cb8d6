// The chaos schedule: for every round, the faults (which process or blob, when, for how long) and each
// client lane's writes and reads, all derived from the seed alone, before anything runs. Outcomes
// that depend on timing (which write fails) vary between runs; the schedule never does.

import { Prng } from './prng.ts'

export interface ScheduleConfig {
  fileservers: number
  proxies: number
  /** Client lanes running side by side; each name is written by one lane only, so its writes are ordered. */
  lanes: number
  /** File servers killed or paused at once, at most (the rest must be able to take writes). */
  maxDisrupted: number
  /** A pause stays well under this, so a paused server is slow, not dead. */
  deadAfterMs: number
}

export type Target =
  { role: 'fileserver'; id: number } | { role: 'proxy'; id: number } | { role: 'directory' }

export type Fault =
  /** SIGKILL, then a restart (on the same port, for the directory and proxies) `forMs` later. */
  | { kind: 'kill'; target: Target; atMs: number; forMs: number }
  /** SIGSTOP, then SIGCONT `forMs` later. */
  | { kind: 'pause'; target: Target; atMs: number; forMs: number }
  /** Flips bits of one byte of one blob: the blob at `pick` (0..1) of the server's sorted list. */
  | { kind: 'corrupt'; server: number; atMs: number; pick: number; offset: number; mask: number }

/** A client's move; `atMs` after the round starts, or as soon as the lane's previous move is done. */
export type Op =
  | {
      kind: 'write'
      atMs: number
      /** Unique over the run: labels the content and names the write in reports. */
      id: number
      name: string
      /** The name was written earlier in the schedule: replace it (put --force). */
      force: boolean
      size: number
      contentSeed: number
      proxy: number
    }
  | { kind: 'read'; atMs: number; name: string; proxy: number }

export interface Round {
  index: number
  faults: Fault[]
  lanes: Op[][]
}

const KiB = 1024
const MiB = 1024 * KiB
/** Client moves and faults start within this much of a round's start, so they overlap. */
const ROUND_MS = 5000

export function planRounds(seed: number, rounds: number, config: ScheduleConfig): Round[] {
  const prng = new Prng(seed)
  const owned: string[][] = Array.from({ length: config.lanes }, () => [])
  let writes = 0
  let names = 0
  const plan: Round[] = []
  for (let index = 0; index < rounds; index++) {
    const faults = planFaults(prng, config)
    const lanes = owned.map((mine, lane) => {
      const ops: Op[] = []
      const starts = Array.from({ length: prng.int(3, 5) }, () => prng.int(0, ROUND_MS)).sort((a, b) => a - b)
      for (const atMs of starts) {
        const all = owned.flat()
        if (all.length > 0 && prng.chance(0.45)) {
          ops.push({ kind: 'read', atMs, name: prng.pick(all), proxy: prng.int(0, config.proxies - 1) })
          continue
        }
        const fresh = mine.length === 0 || prng.chance(0.35)
        const name = fresh ? `chaos/lane${lane}/file${names++}.bin` : prng.pick(mine)
        if (fresh) mine.push(name)
        ops.push({
          kind: 'write',
          atMs,
          id: writes++,
          name,
          force: !fresh,
          size: prng.logUniform(4 * KiB, MiB),
          contentSeed: prng.uint32(),
          proxy: prng.int(0, config.proxies - 1),
        })
      }
      return ops
    })
    plan.push({ index, faults, lanes })
  }
  return plan
}

function planFaults(prng: Prng, config: ScheduleConfig): Fault[] {
  const faults: Fault[] = []
  const servers = Array.from({ length: config.fileservers }, (_, i) => i + 1)
  const disrupted = Math.min(config.maxDisrupted, prng.pick([0, 1, 1, 2, 2]))
  for (const id of prng.shuffle(servers).slice(0, disrupted))
    faults.push(processFault(prng, { role: 'fileserver', id }, config))
  for (let n = prng.pick([0, 0, 1, 1, 2]); n > 0; n--) {
    faults.push({
      kind: 'corrupt',
      server: prng.pick(servers),
      atMs: prng.int(0, ROUND_MS),
      pick: prng.next(),
      offset: prng.next(),
      mask: prng.int(1, 255),
    })
  }
  if (prng.chance(0.2)) faults.push(processFault(prng, { role: 'directory' }, config))
  if (prng.chance(0.2))
    faults.push(processFault(prng, { role: 'proxy', id: prng.int(1, config.proxies) }, config))
  return faults
}

function processFault(prng: Prng, target: Target, config: ScheduleConfig): Fault {
  const atMs = prng.int(0, ROUND_MS - 1000)
  if (prng.chance(0.5)) {
    // A file server may stay down past dead-after, so its copies are re-made elsewhere meanwhile.
    const longest = target.role === 'fileserver' ? 2 * config.deadAfterMs : 2000
    return { kind: 'kill', target, atMs, forMs: prng.int(200, longest) }
  }
  // Heartbeats are a second apart: a pause this short is slowness, never death.
  return { kind: 'pause', target, atMs, forMs: prng.int(200, Math.floor(config.deadAfterMs / 2)) }
}
