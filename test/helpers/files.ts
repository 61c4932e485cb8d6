// Test data without holding it in memory: files of random bytes written in chunks, hashed by stream.

import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { open } from 'node:fs/promises'

export async function randomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256')
  const out = createWriteStream(path)
  for (let left = size; left > 0;) {
    const chunk = randomBytes(Math.min(left, 1024 * 1024))
    hash.update(chunk)
    left -= chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return hash.digest('hex')
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }))
    hash.update(chunk as Buffer)
  return hash.digest('hex')
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Flips the byte at `at` of a file, in place (a bit rot the hashes must catch). */
export async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    const byte = Buffer.alloc(1)
    await handle.read(byte, 0, 1, at)
    byte[0] = (byte[0] ?? 0) ^ 0xff
    await handle.write(byte, 0, 1, at)
  } finally {
    await handle.close()
  }
}
