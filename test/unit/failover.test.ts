// What a failed call to a directory means for failing over (classify), and the --directory list.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { TimeoutError } from 'ky'
import { parseDirectoryUrls } from '../../src/cli/role-flags.ts'
import { classify, type Failure } from '../../src/client/failover.ts'
import { DfsError } from '../../src/protocol/errors.ts'

/** A socket error as a caller reports it: wrapped, with the code on the cause. */
function wrapped(code: string): Error {
  return new Error('GET https://127.0.0.1:1/v1/list', { cause: Object.assign(new Error(code), { code }) })
}

describe('classify', () => {
  const cases: [string, unknown, Failure][] = [
    ['connection refused', wrapped('ECONNREFUSED'), 'unsent'],
    ['connect timeout', wrapped('ETIMEDOUT'), 'unsent'],
    ['a certificate from another CA', wrapped('SELF_SIGNED_CERT_IN_CHAIN'), 'unsent'],
    ['a certificate for another host', wrapped('ERR_TLS_CERT_ALTNAME_INVALID'), 'unsent'],
    ['no such host', wrapped('ENOTFOUND'), 'unsent'],
    ['connection reset', wrapped('ECONNRESET'), 'maybe-sent'],
    ['other side closed', wrapped('EPIPE'), 'maybe-sent'],
    ['the answer stopped coming', wrapped('ERR_BODY_TIMEOUT'), 'maybe-sent'],
    ['a TLS alert once connected', wrapped('ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC'), 'maybe-sent'],
    ['no answer in time', new TimeoutError(new Request('https://127.0.0.1:1/v1/list')), 'maybe-sent'],
    ['cancelled by the caller', wrapped('ABORT_ERR'), 'final'],
    // Its code is a number (20), which is no socket's error code.
    ['cancelled through fetch', new DOMException('This operation was aborted', 'AbortError'), 'final'],
    ["the directory's own error", new DfsError('DFS_CONFLICT', 'changed meanwhile'), 'final'],
    ['a bug, not the network', new RangeError('out of range'), 'final'],
  ]
  for (const [what, error, expected] of cases) {
    test(`${what}: ${expected}`, () => assert.equal(classify(error), expected))
  }
})

describe('--directory', () => {
  test('one URL or several, in order, without trailing slashes', () => {
    assert.deepEqual(parseDirectoryUrls('https://dir.example:5050/'), ['https://dir.example:5050'])
    assert.deepEqual(parseDirectoryUrls('https://a:5050, https://B:5051/'), [
      'https://a:5050',
      'https://b:5051',
    ])
  })

  test('anything else is one DFS_USAGE line', () => {
    for (const bad of [
      'http://a:5050',
      'https://a:5050,',
      'a:5050',
      'https://u:p@a:5050',
      'https://a:5050/?x=1',
    ]) {
      assert.throws(
        () => parseDirectoryUrls(bad),
        (error: unknown) =>
          error instanceof DfsError &&
          error.code === 'DFS_USAGE' &&
          /^--directory: not an https URL: .* \(give https:\/\/HOST:PORT, or several separated by commas\)$/.test(
            error.message,
          ),
        bad,
      )
    }
    assert.throws(
      () => parseDirectoryUrls('https://a:5050,https://a:5050/'),
      /--directory: https:\/\/a:5050 is given twice/,
    )
  })
})
