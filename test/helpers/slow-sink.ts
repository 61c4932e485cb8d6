// A sink for sends through reused buffers: it takes its time over each chunk and checks that the
// chunk's bytes did not change between the write and its callback. A sender that filled a buffer
// again while a write of it was under way would send bytes other than those it read (or checked).

import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'

export interface SlowSink {
  sink: Writable
  /** What was written, in order (copied at each callback). */
  bytes(): Buffer
  /** Chunks whose bytes changed while the sink was writing them. */
  changedUnderWrite(): number
}

export function slowSink(delayMs = 1): SlowSink {
  const parts: Buffer[] = []
  let changed = 0
  const digest = (chunk: Buffer) => createHash('sha256').update(chunk).digest('hex')
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      const before = digest(chunk)
      setTimeout(() => {
        if (digest(chunk) !== before) changed++
        parts.push(Buffer.from(chunk))
        callback()
      }, delayMs)
    },
  })
  return { sink, bytes: () => Buffer.concat(parts), changedUnderWrite: () => changed }
}
