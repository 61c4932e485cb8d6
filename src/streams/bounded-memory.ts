// Keeps a long transfer's memory flat. Every chunk read from a socket or a file is a fresh Buffer; V8
// frees them only when its young generation fills, which with few JS objects per chunk can take
// ~100 MB of file data. A young-generation collection every 16 MiB (about a millisecond each) bounds
// every process's footprint without a command-line flag, which the npm shim, the standalone binary
// and `dfs up`'s children could not all carry.

import { Transform, type TransformCallback } from 'node:stream'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const MINOR_EVERY = 4 * 1024 * 1024
const MAJOR_EVERY = 32 * 1024 * 1024

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

/**
 * Returns a counter to call with each chunk's size: a young-generation collection every 4 MiB, and
 * a full one every 64 MiB, which also lets V8 shrink the young generation it grew meanwhile.
 */
export function memoryGuard(): (bytes: number) => void {
  const collect = collector()
  let minor = 0
  let major = 0
  return (bytes) => {
    if (!collect) return
    minor += bytes
    major += bytes
    if (major >= MAJOR_EVERY) {
      major = 0
      minor = 0
      collect({ type: 'major' })
    } else if (minor >= MINOR_EVERY) {
      minor = 0
      collect({ type: 'minor' })
    }
  }
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

/**
 * Keeps a server's heap small however many requests are in flight. With many at once, most objects
 * outlive a young-generation collection, and V8 answers by growing the young generation (to 134 MB
 * in a file server and a proxy under 16 small writes in flight) and by letting the old one reach
 * up to four times what is live before it collects it (140 MB of garbage in the proxy): either
 * alone took a role past 150 MB. Both are flags V8 reads as it goes, so they can be set here, for
 * every way a role is started. Call before the role starts.
 */
export function boundHeap(): void {
  // The young generation stays at its starting size (1 MiB a semi-space).
  setFlagsFromString('--semi-space-growth-factor=1')
  // The old generation is collected when it reaches 1.5 times what was live after the last time.
  setFlagsFromString('--heap-growing-percent=50')
}

/**
 * A full collection, for after start-up: loading the program and signing this node's certificate
 * leave ~30 MB of garbage that V8 would otherwise keep as heap until it next runs out of room.
 */
export function compactHeap(): void {
  // 'last-resort' is V8's collect-all-available-garbage: it also shrinks the young generation.
  collector()?.({ type: 'major', flavor: 'last-resort' })
}
