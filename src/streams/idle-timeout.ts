// A request body that may not go quiet: a sender that sends nothing for `ms` while we wait for its
// bytes fails with DFS_TIMEOUT. Time when we are not reading (our own backpressure: a slow disk or
// replica) does not count, so a slow but moving upload of any size goes through. Destroying this
// stream leaves the source (the request) open, so that the error can still be answered on it.

import { Readable } from 'node:stream'
import { DfsError } from '../protocol/errors.ts'

export function idleTimeout(source: Readable, ms: number): Readable {
  let timer: NodeJS.Timeout | undefined
  const stopWaiting = () => clearTimeout(timer)
  const waitForSender = () => {
    clearTimeout(timer)
    timer = setTimeout(() => body.destroy(quiet(ms)), ms).unref()
  }
  // Chunks pass on as they come (never concatenated), paced by our reads.
  const onData = (chunk: Buffer) => {
    if (body.push(chunk)) return waitForSender()
    stopWaiting()
    source.pause()
  }
  const onEnd = () => {
    stopWaiting()
    body.push(null)
  }
  const onError = (error: Error) => body.destroy(error)
  const onClose = () => {
    if (!source.readableEnded)
      body.destroy(source.errored ?? new Error('the request closed before its body ended'))
  }
  let attached = false
  const body = new Readable({
    read() {
      if (!attached) {
        attached = true
        source.on('data', onData)
        source.once('end', onEnd)
        source.once('error', onError)
        source.once('close', onClose)
        if (source.readableEnded) return onEnd()
        if (source.destroyed) return onClose()
      }
      waitForSender()
      source.resume()
    },
    destroy(error, callback) {
      stopWaiting()
      source.off('data', onData)
      source.off('end', onEnd)
      source.off('error', onError)
      source.off('close', onClose)
      source.pause()
      callback(error)
    },
  })
  return body
}

function quiet(ms: number): DfsError {
  return new DfsError('DFS_TIMEOUT', `the request body sent nothing for ${timeSpan(ms)}`)
}

/** A timeout as a person would say it: 30 s, 250 ms. */
export function timeSpan(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`
}
