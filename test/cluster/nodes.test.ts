// Taking a file server out of service: dfs node drain copies what it holds elsewhere and places
// nothing new on it; dfs node rm then removes it (refused while it holds a version's only copy, and
// only for the admin, the first user registered). And a node's certificate renewed before it expires.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { stopChild } from '../../src/cli/children.ts'
import type { NodeView } from '../../src/protocol/types.ts'
import { issueNodeCert, loadCa } from '../../src/tls/ca.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'

const DAY = 24 * 3600 * 1000

describe('draining and removing a file server', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3, directoryArgs: ['--repair-every', '500ms'] })
  })
  after(async () => {
    await cluster?.stop()
  })

  const nodes = async (): Promise<NodeView[]> => {
    const listed = await cluster.run(['node', 'list', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    return JSON.parse(listed.stdout.toString()) as NodeView[]
  }
  const names = ['d/0', 'd/1', 'd/2', 'd/3', 'd/4', 'd/5']

  test('only the admin may manage nodes', async () => {
    // The cluster's first user (the tester) is the admin; a second one is not.
    assert.equal((await cluster.run(['node', 'list'])).code, 0)
    const bob = { DFS_USER: 'bob', DFS_PASSWORD: 'bob-password', DFS_CONFIG_DIR: `${cluster.root}/bob` }
    const refused = await cluster.run(['node', 'drain', '1'], { env: bob })
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^dfs: DFS_FORBIDDEN: only an admin may drain nodes \(bob is not one\)/)
  })

  test('a drained server holds nothing that counts and takes no new file; then it is removed', async () => {
    for (const name of names) assert.equal((await cluster.run(['put', '-', name], { input: name })).code, 0)
    const drain = await cluster.run(['node', 'drain', '1'])
    assert.equal(drain.code, 0, drain.stderr)
    await eventually('file server 1 to be drained', async () => {
      for (const name of names) {
        const { holders } = await cluster.stat(name)
        if (holders.includes(1) || holders.length !== 2) return false
      }
      return true
    })
    const drained = (await nodes()).find((n) => n.role === 'fileserver' && n.id === 1)!
    assert.equal(drained.server?.draining, true)
    assert.equal(drained.holds, 0)
    for (let i = 0; i < 4; i++) {
      assert.equal((await cluster.run(['put', '-', `after/${i}`], { input: 'x' })).code, 0)
      assert.deepEqual((await cluster.stat(`after/${i}`)).holders.toSorted(), [2, 3])
    }
    const human = await cluster.run(['node', 'list'])
    assert.match(human.stdout.toString(), /fileserver 1 {2}cert until .* live, drained/)

    const rm = await cluster.run(['node', 'rm', '1'])
    assert.equal(rm.code, 0, rm.stderr)
    const removed = (await nodes()).find((n) => n.role === 'fileserver' && n.id === 1)!
    assert.equal(removed.revoked, true)
    // Its certificate is refused from now on: it drops out of the directory's view for good.
    await eventually('file server 1 to stay out', async () => {
      const status = JSON.parse((await cluster.run(['status', '--json'])).stdout.toString()) as {
        servers: { id: number }[]
      }
      return !status.servers.some((s) => s.id === 1)
    })
    for (const name of names) assert.equal((await cluster.run(['get', name, '-'])).stdout.toString(), name)
  })

  test('a server holding the only copy of a version is not removed without --force', async () => {
    // Every version is on servers 2 and 3 now: once 3 is removed (--force, as for a server gone for
    // good), server 2 holds the only copies.
    const rm3 = await cluster.run(['node', 'rm', '3', '--force'])
    assert.equal(rm3.code, 0, rm3.stderr)
    const refused = await cluster.run(['node', 'rm', '2'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^dfs: DFS_CONFLICT: file server 2 holds the only copy of \d+ versions/)
  })
})

describe('certificate renewal', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2 })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('a node whose certificate has less than a third of its life left renews it, and serves the new one', async () => {
    const dir = join(cluster.data, 'tls', 'fileserver-1')
    const validTo = async () => Date.parse(new X509Certificate(await readFile(join(dir, 'node.crt'))).validTo)
    assert.ok((await validTo()) > Date.now() + 300 * DAY, 'a fresh certificate is good for a year')
    await stopChild(cluster.fileservers.get(1)!)
    // Swap in a certificate for the same node that expires in two days, as an old one would.
    const ca = (await loadCa(cluster.data))!
    const aging = issueNodeCert(ca, { role: 'fileserver', id: 1 }, [], 2 * DAY)
    await writeFile(join(dir, 'node.crt'), aging.cert)
    await writeFile(join(dir, 'node.key'), aging.key)
    assert.ok((await validTo()) < Date.now() + 3 * DAY)

    const child = await cluster.startFileServer(1)
    await eventually('the certificate to be renewed', async () => (await validTo()) > Date.now() + 300 * DAY)
    // The running server presents the renewed certificate to new connections, without a restart.
    const presented = await presentedValidTo(child.url, {
      ca: ca.cert,
      ...issueNodeCert(ca, { role: 'proxy', id: 50 }),
    })
    assert.ok(
      presented > Date.now() + 300 * DAY,
      `presents a certificate valid until ${new Date(presented).toISOString()}`,
    )
    await cluster.waitForLiveServers(2)
    const put = await cluster.run(['put', '-', 'renewed.txt'], { input: 'after renewal' })
    assert.equal(put.code, 0, put.stderr)
  })
})

/** The expiry of the certificate a TLS server presents now. */
function presentedValidTo(url: string, tls: { ca: string; cert: string; key: string }): Promise<number> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), servername: hostname, ...tls }, () => {
      resolve(Date.parse(socket.getPeerCertificate().valid_to))
      socket.destroy()
    })
    socket.once('error', reject)
  })
}
