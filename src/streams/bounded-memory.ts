// Keeps a long transfer's memory flat. Every chunk read from a socket or a file is a fresh Buffer
// whose bytes live outside V8's heap, and V8 frees them only when its young generation fills, which
// with few JS objects per chunk can take ~100 MB of file data; chunks that outlive two young
// collections (held in a block being checked, or a write buffer) are freed only by a full one. So
// every stream reports the bytes that pass through it to one governor per process, which collects
// the young generation every so many bytes reported, and the whole heap when buffer memory has
// grown 32 MiB past what the last full collection left. Before, each stream of a path kept its own
// schedule, so a path of two or three streams collected two or three times as often.
//
// Whatever holds a chunk for long (a block being checked, a write buffer) now copies it into a
// buffer of its own instead (./reused-buffers.ts, ./checked-writer.ts), so chunks die young and no
// full collection is needed on a schedule: only when buffer memory has grown past the headroom.
//
// A server (boundHeap) has many transfers in flight: it collects the young generation every 2 MiB
// reported. Until 2026-12-08 it collected young every 8 MiB and the whole heap every 32 MiB, which
// chunks held in blocks then called for; V8 itself added a full collection every ~80 ms of a cold
// read, for the buffer memory it saw grow between young ones. A proxy's CPU for a cold 512 MiB get
// went from 4.3-5.2 s to 3.1 s, for a cached one from 1.75 s to 1.55 s, for a put from 3.0-3.5 s to
// 2.6-3.1 s; its peak through 1 GiB up and 2 GiB down stayed at 124 MB.
//
// A command moves one file. Sending (`dfs put`), it collects young every 16 MiB reported: its chunks
// wait in the socket's queue for a few MiB, and collected more often they outlive two young
// collections and pile up in the old generation (a 10 GiB put peaked at 152 MB every 4 MiB, about
// 100 every 16). Receiving (`dfs get`, receivingPace), every 4 MiB: each chunk is copied into a
// block buffer and dropped at once, and every 16 MiB V8 itself started ~50 full collections in a
// 512 MiB get for the buffer memory it saw grow (0.33 s of GC), against 5 every 4 MiB (0.14 s).
// Until 2026-12-07 a command also had a full one every 32 MiB reported: a quarter of a get's CPU.
//
// No command-line flag is needed, which the npm shim, the standalone binary and `dfs up`'s children
// could not all carry.

import { Transform, type TransformCallback } from 'node:stream'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const MiB = 1024 * 1024

/** Bytes reported, across the process, between two young collections: a command's (one transfer). */
const COMMAND_MINOR_EVERY = 16 * MiB
/** A command's that receives a file into block buffers (receivingPace). */
const RECEIVING_MINOR_EVERY = 4 * MiB
/** A server's: many transfers at once (boundHeap). */
const SERVER_MINOR_EVERY = 2 * MiB

let minorEvery = COMMAND_MINOR_EVERY
/** Buffer memory allowed above what the last full collection left, before the next one. */
const HEADROOM = 32 * MiB

type Gc = (options?: {
  type?: 'minor' | 'major'
  execution?: 'sync' | 'async'
  flavor?: 'regular' | 'last-resort'
}) => void

let gc: Gc | undefined

function collector(): Gc | undefined {
  if (gc) return gc
  try {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as Gc
  } catch {
    gc = undefined
  }
  return gc
}

/** What the governor did, for tests and the bench. */
export interface GovernorCounts {
  minor: number
  major: number
}

/**
 * One per process, since V8's heap is: streams in flight at once share it. Buffer memory is read
 * before each young collection, not after: V8 frees the buffers a collection found dead in the
 * background and counts them freed only at the next one. The limit follows what a full collection
 * left live, so many transfers at once, each holding a block, do not make every look a full one.
 */
class MemoryGovernor {
  private readonly collect: Gc | undefined
  private pending = 0
  private limit = HEADROOM
  readonly counts: GovernorCounts = { minor: 0, major: 0 }

  constructor(collect: Gc | undefined) {
    this.collect = collect
  }

  passed(bytes: number): void {
    this.pending += bytes
    if (this.pending < minorEvery || !this.collect) return
    this.pending = 0
    if (buffers() < this.limit) {
      this.collect({ type: 'minor' })
      this.counts.minor++
      return
    }
    this.collect({ type: 'major' })
    this.counts.major++
    this.limit = buffers() + HEADROOM
  }
}

function buffers(): number {
  return getHeapStatistics().external_memory
}

let governor: MemoryGovernor | undefined

function theGovernor(): MemoryGovernor {
  governor ??= new MemoryGovernor(collector())
  return governor
}

/** What this process's governor has done so far. */
export function governorCounts(): GovernorCounts {
  return { ...theGovernor().counts }
}

/** Returns a function to call with each chunk's size as it passes (see MemoryGovernor). */
export function memoryGuard(): (bytes: number) => void {
  const to = theGovernor()
  return (bytes) => to.passed(bytes)
}

/** A pass-through that keeps memory flat while a transfer flows through it. */
export function boundedMemory(): Transform {
  const guard = memoryGuard()
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      guard(chunk.length)
      callback(null, chunk)
    },
  })
}

/** Sets the pace of a command that receives a file into block buffers of its own (see above). */
export function receivingPace(): void {
  minorEvery = RECEIVING_MINOR_EVERY
}

/**
 * Keeps a server's heap small however many requests are in flight, and sets the governor's pace.
 * With many at once, most objects outlive a young-generation collection, and V8 answers by growing
 * the young generation (to 134 MB in a file server and a proxy under 16 small writes in flight) and
 * by letting the old one reach up to four times what is live before it collects it (140 MB of
 * garbage in the proxy): either alone took a role past 150 MB. Both are flags V8 reads as it goes,
 * so they can be set here, for every way a role is started. Call before the role starts.
 */
export function boundHeap(): void {
  minorEvery = SERVER_MINOR_EVERY
  // The young generation stays at its starting size (1 MiB a semi-space).
  setFlagsFromString('--semi-space-growth-factor=1')
  // The old generation is collected when it reaches 1.3 times what was live after the last time.
  // At 1.5 a proxy peaked at 146 MB through 1 GiB of transfers and 10,000 small puts (149 in the
  // bench); at 1.3, 142 MB, and 123-128 against 129-132 after 6,000 small puts alone, at the same
  // rate within this machine's noise (190-208 puts/s against 177-204).
  setFlagsFromString('--heap-growing-percent=30')
}

/**
 * A full collection, for after start-up: loading the program and signing this node's certificate
 * leave ~30 MB of garbage that V8 would otherwise keep as heap until it next runs out of room.
 */
export function compactHeap(): void {
  // 'last-resort' is V8's collect-all-available-garbage: it also shrinks the young generation.
  collector()?.({ type: 'major', flavor: 'last-resort' })
}
