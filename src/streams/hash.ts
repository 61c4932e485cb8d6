// sha256 of a stream or a file, read in bounded memory.

import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { memoryGuard } from './bounded-memory.ts'

export async function sha256OfStream(stream: Readable): Promise<string> {
  const hash = createHash('sha256')
  const guard = memoryGuard()
  for await (const chunk of stream) {
    guard((chunk as Buffer).length)
    hash.update(chunk as Buffer)
  }
  return hash.digest('hex')
}

export function sha256OfFile(path: string): Promise<string> {
  return sha256OfStream(createReadStream(path, { highWaterMark: 1024 * 1024 }))
}

/** A pass-through that hashes what flows by; `result` is its sha256 and size once the stream has ended. */
export function hashing(): {
  stream: Transform
  readonly result: { sha256: string; size: number } | undefined
} {
  const hash = createHash('sha256')
  let size = 0
  let result: { sha256: string; size: number } | undefined
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk)
      size += chunk.length
      callback(null, chunk)
    },
    flush(callback: TransformCallback) {
      result = { sha256: hash.digest('hex'), size }
      callback()
    },
  })
  return {
    stream,
    get result() {
      return result
    },
  }
}
