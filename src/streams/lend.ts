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
  let attached = false
  // Chunks pass on as they are (never concatenated), paced by the attempt's reads.
  const onData = (chunk: Buffer) => {
    taken += chunk.length
    if (!body.push(chunk)) source.pause()
  }
  const onEnd = () => body.push(null)
  const onError = (error: Error) => body.destroy(error)
  const body = new Readable({
    read() {
      // Bytes move only once the attempt asks for them (a refused connection asks for none).
      if (!attached) {
        attached = true
        // A source that failed before this attempt asked for bytes has no error left to emit.
        if (source.errored) return void body.destroy(source.errored)
        source.on('data', onData)
        source.once('end', onEnd)
        source.once('error', onError)
      }
      source.resume()
    },
    destroy(error, callback) {
      source.off('data', onData)
      source.off('end', onEnd)
      source.off('error', onError)
      source.pause()
      callback(error)
    },
  })
  source.pause()
  if (source.readableEnded) body.push(null)
  return {
    body,
    get taken() {
      return taken
    },
  }
}
