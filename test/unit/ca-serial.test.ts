// Certificate serials must be DER's minimal positive INTEGER, or OpenSSL refuses the certificate
// ("illegal padding"): a serial starting with a zero byte and then one below 0x80 once failed a start
// in 256.

import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { test } from 'node:test'
import { certificateSerial, issueNodeCert, makeCa } from '../../src/tls/ca.ts'

test('every serial is 16 bytes, positive, with no leading zero byte', () => {
  for (let i = 0; i < 20_000; i++) {
    const serial = certificateSerial()
    assert.match(serial, /^[0-9a-f]{32}$/)
    const first = parseInt(serial.slice(0, 2), 16)
    assert.ok(first >= 0x40 && first <= 0x7f, `serial ${serial} starts with ${first.toString(16)}`)
  }
})

test('certificates made with them parse, with the serial they were given', () => {
  const ca = makeCa()
  const parsed = new X509Certificate(ca.cert)
  assert.match(parsed.serialNumber, /^[4-7][0-9A-F]{31}$/)
  const node = new X509Certificate(issueNodeCert(ca, { role: 'fileserver', id: 1 }).cert)
  assert.match(node.serialNumber, /^[4-7][0-9A-F]{31}$/)
  assert.ok(node.checkIssued(parsed))
})
