// Taking a file server out of service: dfs node drain copies what it holds elsewhere and places
// nothing new on it; dfs node rm then removes it (refused while it holds a version's only copy, and
// only for the admin, the first user registered).

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { NodeView } from '../../src/protocol/types.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'

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
    assert.match(refused.stderr, /^dfs: DFS_FORBIDDEN: bob is not the cluster's admin/)
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
