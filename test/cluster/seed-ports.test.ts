// The seed's own layout: directory 5050, file servers 5060 and 5070, proxies 5000 and 5010. Port 5060
// is on WHATWG fetch's "bad ports" list (SIP): no call between dfs processes may go through fetch, or
// every copy to or from that server fails. Shown here with repair in both directions.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'
import { randomFile, sha256File } from '../helpers/files.ts'

const SEED = { directory: 5050, fileservers: [5060, 5070], proxies: [5000, 5010] }

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** The seed's ports, each taken one replaced by 0 (any free port) with one line saying so. */
async function seedPorts(): Promise<typeof SEED> {
  const pick = async (port: number, role: string) => {
    if (await isFree(port)) return port
    console.log(`# port ${port} is taken on this machine; ${role} uses a free port instead`)
    return 0
  }
  return {
    directory: await pick(SEED.directory, 'the directory'),
    fileservers: [await pick(5060, 'file server 1'), await pick(5070, 'file server 2')],
    proxies: [await pick(5000, 'proxy 1'), await pick(5010, 'proxy 2')],
  }
}

describe("the seed's ports, 5060 included", async () => {
  const ports = await seedPorts()
  let cluster: TestCluster
  const skip = ports.fileservers[0] === 0 ? 'port 5060 is taken: nothing to show on it' : false

  before(async () => {
    if (skip) return
    cluster = await TestCluster.start({
      fileservers: 2,
      proxies: 2,
      ports,
      directoryArgs: ['--repair-every', '1h'],
      fileserverArgs: ['--inventory-every', '1s', '--gc-grace', '1h'],
    })
  })
  after(async () => {
    await cluster?.stop()
  })

  const blob = (server: number, sha: string) => cluster.blobPath(server, sha)
  const holdersBecome = (name: string, want: number[]) =>
    eventually(
      `holders of ${name} to be ${want}`,
      async () => (await cluster.stat(name)).holders.toSorted().join() === want.join(),
    )

  test('repair copies to and from the file server on 5060', { skip }, async () => {
    assert.match(cluster.fileservers.get(1)!.url, /:5060$/)
    const local = join(cluster.root, 'seed.bin')
    const digest = await randomFile(local, 300 * 1024)
    const put = await cluster.run(['put', local, 'seed.bin', '--json'])
    assert.equal(put.code, 0, put.stderr)
    await holdersBecome('seed.bin', [1, 2])

    // Lose one copy at a time; each server's inventory drops it, and dfs repair copies it back from
    // the other: first 5070 -> 5060, then 5060 -> 5070.
    for (const [lost, source] of [
      [1, 2],
      [2, 1],
    ] as const) {
      await rm(blob(lost, digest))
      await holdersBecome('seed.bin', [source])
      const repair = await cluster.run(['repair'])
      assert.equal(repair.code, 0, repair.stderr)
      assert.match(repair.stdout.toString(), /copied 1 of 1/)
      await holdersBecome('seed.bin', [1, 2])
      assert.ok(existsSync(blob(lost, digest)), `file server ${lost} has its copy back`)
      assert.equal(await sha256File(blob(lost, digest)), digest)
    }

    // And reads through the second proxy (5010) from either server.
    const got = await cluster.run(['get', 'seed.bin', '-'], { proxy: cluster.proxies[1]!.url })
    assert.equal(got.code, 0, got.stderr)
    assert.equal(got.stdout.length, 300 * 1024)
  })
})
