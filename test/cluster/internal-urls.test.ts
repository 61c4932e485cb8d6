// What a user is told when the nodes behind a proxy are gone: which node, and what happened, in
// words; never a node's internal URL or address, which the proxy's log keeps instead.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stopChild } from '../../src/cli/children.ts'
import { TestCluster } from '../helpers/cluster.ts'

describe('errors without internal URLs', () => {
  let cluster: TestCluster

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2, proxies: 2 })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('with its file servers gone, a read names the file server that failed', async () => {
    const put = await cluster.run(['put', '-', 'stranded.txt'], { input: 'on both file servers\n' })
    assert.equal(put.code, 0, put.stderr)
    for (const child of cluster.fileservers.values()) {
      child.process.kill('SIGKILL')
      await child.exited
    }
    // Through the other proxy, which has no copy in its cache.
    const get = await cluster.run(['get', 'stranded.txt', '-'], { proxy: cluster.proxies[1]!.url })
    assert.equal(get.code, 1)
    assert.match(get.stderr, /^dfs: DFS_UNAVAILABLE: file server [12] unreachable \(connection refused\)\n$/)
    assert.doesNotMatch(get.stderr, /https:\/\/|127\.0\.0\.1/)
    // The proxy's log keeps the detail the user is spared.
    const log = await readFile(join(cluster.root, 'proxy-2.log'), 'utf8')
    assert.match(
      log,
      /file server [12] unreachable \(connection refused\): GET https:\/\/127\.0\.0\.1:\d+\/v1\/blobs\//,
    )
  })

  test('with the directory gone too, a listing names the directory', async () => {
    await stopChild(cluster.directory)
    const ls = await cluster.run(['ls'])
    assert.equal(ls.code, 1)
    assert.match(ls.stderr, /^dfs: DFS_UNAVAILABLE: directory unreachable \(connection refused\)\n$/)
    assert.doesNotMatch(ls.stderr, /https:\/\/|127\.0\.0\.1/)
  })
})
