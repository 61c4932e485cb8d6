// sha256 of a stream or a file, read in bounded memory.

import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
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
