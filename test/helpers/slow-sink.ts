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
  const { put, bytes, changedUnderWrite } = slowPut(delayMs)
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      put(chunk).then(() => callback(), callback)
    },
  })
  return { sink, bytes, changedUnderWrite }
}

/** The same as a function that resolves once it is done with the bytes (a checkedWriter's put). */
export function slowPut(delayMs = 1): Omit<SlowSink, 'sink'> & { put: (chunk: Buffer) => Promise<void> } {
  const parts: Buffer[] = []
  let changed = 0
  const digest = (chunk: Buffer) => createHash('sha256').update(chunk).digest('hex')
  const put = (chunk: Buffer) =>
    new Promise<void>((resolve) => {
      const before = digest(chunk)
      setTimeout(() => {
        if (digest(chunk) !== before) changed++
        parts.push(Buffer.from(chunk))
        resolve()
      }, delayMs)
    })
  return { put, bytes: () => Buffer.concat(parts), changedUnderWrite: () => changed }
}
