// The body timeout counts only time spent waiting for the sender: a reader that pauses (backpressure)
// is never the sender's fault, and a timeout leaves the request itself open to answer on.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { DfsError } from '../../src/protocol/errors.ts'
import { idleTimeout } from '../../src/streams/idle-timeout.ts'

const MS = 100

test('a sender that goes quiet while we wait fails with DFS_TIMEOUT; the source stays open', async () => {
  const source = new PassThrough()
  const body = idleTimeout(source, MS)
  source.write('some')
  body.resume()
  const [error] = (await once(body, 'error')) as [DfsError]
  assert.ok(error instanceof DfsError)
  assert.equal(error.code, 'DFS_TIMEOUT')
  assert.equal(source.destroyed, false)
  assert.equal(source.listenerCount('data'), 0)
})

test('time the reader spends not reading does not count', { timeout: 5000 }, async () => {
  const source = new PassThrough()
  const body = idleTimeout(source, MS)
  const errors: Error[] = []
  body.on('error', (error) => errors.push(error))
  // More than the body buffers: once it has this, the sender is held back by us, not idle by choice.
  source.write(Buffer.alloc(256 * 1024))
  body.read(0)
  // Pausing the reader for five timeouts is the point of this test.
  await new Promise((resolve) => setTimeout(resolve, 5 * MS))
  assert.deepEqual(errors, [])
  source.end()
  let bytes = 0
  for await (const chunk of body) bytes += (chunk as Buffer).length
  assert.equal(bytes, 256 * 1024)
})
