// A body must be exactly as long as its sender said (content-length, or ?length= for a chunked one):
// a short or long body is the sender's mistake, refused with DFS_BAD_REQUEST, and never stored.

import { Transform, type TransformCallback } from 'node:stream'
import { DfsError } from '../protocol/errors.ts'

export function bodyTooLong(declared: number): DfsError {
  return new DfsError('DFS_BAD_REQUEST', `the body is longer than its declared length of ${declared} bytes`)
}

export function bodyTooShort(seen: number, declared: number): DfsError {
  return new DfsError('DFS_BAD_REQUEST', `the body ended after ${seen} of its declared ${declared} bytes`)
}

/** Passes bytes through, failing as soon as there are more than `declared`, or at the end if fewer. */
export function exactLength(declared: number | undefined): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length
      if (declared !== undefined && seen > declared) return callback(bodyTooLong(declared))
      callback(null, chunk)
    },
    flush(callback: TransformCallback) {
      callback(declared !== undefined && seen < declared ? bodyTooShort(seen, declared) : null)
    },
  })
}
