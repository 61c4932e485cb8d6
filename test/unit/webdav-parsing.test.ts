// What the WebDAV gateway reads from clients: XML bodies (namespaces, mixed content, and everything
// hostile refused) and If headers (tagged and untagged lists, Not, ETags, our lock tokens).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DfsError } from '../../src/protocol/errors.ts'
import {
  ifHolds,
  leaseKeyOf,
  lockToken,
  parseIf,
  submittedKeys,
} from '../../src/roles/proxy/webdav/if-header.ts'
import { lockSeconds } from '../../src/roles/proxy/webdav/locks.ts'
import { davPath, destinationPath, hrefOf } from '../../src/roles/proxy/webdav/paths.ts'
import { clark, parseXml, serialise, textOf } from '../../src/roles/proxy/webdav/xml.ts'

const KEY = `12.${'a'.repeat(43)}`
const refused = (code: string) => (error: unknown) => error instanceof DfsError && error.code === code

test('XML: namespaces resolve by prefix and default, and a dead property keeps its mixed content', () => {
  const root = parseXml(
    '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><color xmlns="urn:z" a="1">red &amp; <b>bold</b> end</color></D:prop></D:set></D:propertyupdate>',
  )!
  assert.equal(clark(root), '{DAV:}propertyupdate')
  const color = root.children[0]!.children[0]!.children[0]!
  assert.equal(clark(color), '{urn:z}color')
  assert.equal(serialise(color), '<color xmlns="urn:z" a="1">red &amp; <b>bold</b> end</color>')
  assert.equal(textOf(color), 'red &  end')
  assert.equal(parseXml('   '), undefined)
})

test('XML: a DOCTYPE, an entity, a bad prefix, bad nesting and deep nesting are refused', () => {
  const bad = [
    '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
    '<a><!ENTITY x "y"></a>',
    '<z:a/>',
    '<a><b></a>',
    '<a>'.repeat(100) + '</a>'.repeat(100),
    'not xml at all',
  ]
  for (const body of bad) assert.throws(() => parseXml(body), refused('DFS_BAD_REQUEST'), body.slice(0, 40))
})

test('XML: a character reference outside Unicode reads as U+FFFD, not a crash', () => {
  assert.equal(textOf(parseXml('<a>&#x110000;&#65;</a>')), '\uFFFDA')
})

test('If: untagged and tagged lists, Not, ETags; only our well-formed tokens are lease keys', () => {
  const token = lockToken(KEY)
  const lists = parseIf(`(<${token}> ["etag1"]) (Not <DAV:no-lock>) </dav/other> (<urn:x:y>)`)
  assert.equal(lists.length, 3)
  assert.equal(lists[2]!.resource, '/dav/other')
  const own = (list: { resource?: string }) => list.resource === undefined
  assert.deepEqual(submittedKeys(lists, own), [KEY])
  assert.ok(ifHolds(lists, own, { etag: '"other"', holds: () => undefined }), 'Not <DAV:no-lock> holds')
  assert.ok(!ifHolds(parseIf('(["a"])'), own, { etag: '"b"', holds: () => undefined }))
  assert.equal(leaseKeyOf('urn:dfs:lock:not-a-key'), undefined)
  assert.equal(leaseKeyOf(token), KEY)
  for (const bad of ['', '(', '()', 'x', '(<a>', '([etag)', `(${'<a>'.repeat(6000)})`])
    assert.throws(() => parseIf(bad), refused('DFS_BAD_REQUEST'), bad.slice(0, 20))
})

test('Timeout: the first usable option, capped at the lease bound', () => {
  assert.equal(lockSeconds('Second-30'), 30)
  assert.equal(lockSeconds('Infinite, Second-4100000000'), 600)
  assert.equal(lockSeconds('Second-99999999999'), 600)
  assert.equal(lockSeconds('bogus, Second-5'), 5)
  assert.equal(lockSeconds(undefined), 600)
})

test('paths: dfs names under /dav/, every name rule applied; Destination on this server only', () => {
  assert.deepEqual(davPath('/dav/a%20b/c.txt?x=1'), { name: 'a b/c.txt', slash: false })
  assert.deepEqual(davPath('/dav/a/'), { name: 'a', slash: true })
  assert.deepEqual(davPath('/dav'), { name: '', slash: true })
  assert.throws(() => davPath('/dav/a/%2e%2e/%2e%2e/etc'), refused('DFS_BAD_NAME'))
  assert.throws(() => davPath('/dav/%ff'), refused('DFS_BAD_NAME'))
  assert.throws(() => davPath('/dav/a%00b'), refused('DFS_BAD_NAME'))
  assert.throws(() => davPath('/other'), refused('DFS_NOT_FOUND'))
  assert.equal(destinationPath('https://h:1/dav/x/y', 'h:1').name, 'x/y')
  assert.equal(destinationPath('/dav/x', 'h:1').name, 'x')
  assert.throws(() => destinationPath('https://evil:1/dav/x', 'h:1'), refused('DFS_BAD_DESTINATION'))
  assert.throws(() => destinationPath('https://h:1/elsewhere', 'h:1'), refused('DFS_BAD_DESTINATION'))
  assert.throws(() => destinationPath(undefined, 'h:1'), refused('DFS_BAD_REQUEST'))
  assert.equal(hrefOf('a b/ü?#.txt', false), '/dav/a%20b/%C3%BC%3F%23.txt')
  assert.equal(hrefOf('a', true), '/dav/a/')
})
