// An answer's body as text, read whole but bounded: its bytes are gathered and decoded once (a
// character may span two chunks), and a body past the bound is destroyed, not gathered.

import type { Readable } from 'node:stream'

/** The body as UTF-8 text, or undefined if it runs past `max` bytes (the body is then destroyed). */
export async function boundedText(body: Readable, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of body) {
    length += (chunk as Buffer).length
    if (length > max) {
      body.destroy()
      return undefined
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks, length).toString('utf8')
}
