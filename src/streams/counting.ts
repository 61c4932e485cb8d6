// Counts the bytes that pass as they pass, so a transfer in flight shows while it runs (the proxy's
// upload metric, the bytes `dfs get` has written), not only when it ends.

import { Transform, type TransformCallback } from 'node:stream'

export function counting(add: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      add(chunk.length)
      callback(null, chunk)
    },
  })
}
