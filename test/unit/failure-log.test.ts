// How a failed request is logged (server/app.ts logFailure): the expected 5xx (a full disk, a peer
// that is down) as a warning with its code and no stack, the unexpected as an error with its stack,
// a client's hang-up at debug, and a 4xx not at all (the request line and the answer say it).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DfsError } from '../../src/protocol/errors.ts'
import { logFailure } from '../../src/server/app.ts'

type Line = { level: string; fields: object | string; msg?: string }

function recorder() {
  const lines: Line[] = []
  const at =
    (level: string) =>
    (fields: object | string, msg?: string): void => {
      lines.push({ level, fields, ...(msg === undefined ? {} : { msg }) })
    }
  return { lines, log: { debug: at('debug'), warn: at('warn'), error: at('error') } }
}

test('a full disk and a peer that is down are warnings with their code and reason, without a stack', () => {
  for (const error of [
    new DfsError('DFS_NO_SPACE', 'fewer than 2 live file servers have room for 9 bytes'),
    new DfsError('DFS_UNAVAILABLE', 'file server 3 unreachable (connection refused)', {
      cause: new Error('connect ECONNREFUSED 127.0.0.1:4001'),
    }),
  ]) {
    const { lines, log } = recorder()
    logFailure(log, error, error)
    // The causes' messages too: the log keeps the internal address the answer leaves out.
    const reason = error.cause ? `${error.message}: connect ECONNREFUSED 127.0.0.1:4001` : error.message
    assert.deepEqual(lines, [
      {
        level: 'warn',
        fields: { code: error.code, status: error.status, reason },
        msg: 'request failed',
      },
    ])
    assert.doesNotMatch(JSON.stringify(lines), /stack|\bat /)
  }
})

test('an unexpected failure is an error with the error itself (pino logs its stack)', () => {
  const bug = new TypeError("Cannot read properties of undefined (reading 'sha256')")
  const answer = new DfsError('DFS_INTERNAL', 'internal error (see the server log)')
  const { lines, log } = recorder()
  logFailure(log, bug, answer)
  assert.deepEqual(lines, [
    { level: 'error', fields: { err: bug, code: 'DFS_INTERNAL' }, msg: 'request failed' },
  ])
  // A 5xx code that is no expected failure is an error too, whatever threw it.
  const corrupt = new DfsError('DFS_CORRUPT', 'no holder had good bytes for block 3')
  const second = recorder()
  logFailure(second.log, corrupt, corrupt)
  assert.equal(second.lines[0]?.level, 'error')
})

test('a client that hung up is a debug line; a 4xx is not logged here', () => {
  const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
  const { lines, log } = recorder()
  logFailure(log, reset, new DfsError('DFS_INTERNAL', 'internal error'))
  logFailure(log, new Error('x'), new DfsError('DFS_NO_SPACE', 'full'), true)
  logFailure(
    log,
    new DfsError('DFS_NOT_FOUND', 'no such file: x'),
    new DfsError('DFS_NOT_FOUND', 'no such file: x'),
  )
  assert.deepEqual(
    lines.map((l) => l.level),
    ['debug', 'debug'],
  )
})
