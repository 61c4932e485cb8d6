// Keeps a long transfer's memory flat. Every chunk read from a socket or a file is a fresh Buffer; V8
// frees them only when its young generation fills, which with few JS objects per chunk can take
// ~100 MB of file data. A young-generation collection every 16 MiB (about a millisecond each) bounds
// every process's footprint without a command-line flag, which the npm shim, the standalone binary
// and `dfs up`'s children could not all carry.

import { Transform, type TransformCallback } from 'node:stream'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const EVERY_BYTES = 4 * 1024 * 1024

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void

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

/** Returns a counter to call with each chunk's size; it collects after every 16 MiB. */
export function memoryGuard(): (bytes: number) => void {
  const collect = collector()
  let since = 0
  return (bytes) => {
    since += bytes
    if (since >= EVERY_BYTES && collect) {
      since = 0
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
