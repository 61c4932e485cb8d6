// A loan of a stream to one attempt: a source that failed before the attempt asked for its bytes
// fails the loan at once, instead of leaving the attempt waiting for bytes that will never come.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { lend } from '../../src/streams/lend.ts'

test(
  'a source that failed before the loan was read fails the loan with its error',
  { timeout: 5000 },
  async () => {
    const source = new PassThrough()
    source.on('error', () => undefined)
    const loan = lend(source)
    const why = new Error('the client sent too few bytes')
    source.destroy(why)
    await new Promise((resolve) => source.once('close', resolve))
    loan.body.resume()
    const [error] = (await once(loan.body, 'error')) as [Error]
    assert.equal(error, why)
    assert.equal(loan.taken, 0)
  },
)
