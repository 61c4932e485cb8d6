// Lends a stream to one attempt at a time. An HTTP client destroys the body it was given when the
// connection fails; a loan is destroyed instead, and the source is left as it was. So an upload whose
// connection was refused before it took a byte can be sent again, elsewhere, from the same source.

import { Readable } from 'node:stream'

export interface Loan {
  /** The stream to hand to one attempt. */
  body: Readable
  /** Bytes the attempt took from the source: after any, the source cannot be sent again. */
  readonly taken: number
}

export function lend(source: Readable): Loan {
  let taken = 0
  // Bytes move only when the attempt asks for them, never ahead (a refused connection asks for none).
  let wanted = false
  const pump = () => {
    while (wanted) {
      const chunk = source.read() as Buffer | null
      if (chunk === null) return
      taken += chunk.length
      wanted = body.push(chunk)
    }
  }
  const onEnd = () => body.push(null)
  const onError = (error: Error) => body.destroy(error)
  const body = new Readable({
    // The source buffers; the loan only passes on what was asked for.
    highWaterMark: 0,
    read() {
      wanted = true
      pump()
    },
    destroy(error, callback) {
      source.off('readable', pump)
      source.off('end', onEnd)
      source.off('error', onError)
      callback(error)
    },
  })
  if (source.readableEnded) {
    body.push(null)
  } else {
    source.on('readable', pump)
    source.once('end', onEnd)
    source.once('error', onError)
  }
  return {
    body,
    get taken() {
      return taken
    },
  }
}
