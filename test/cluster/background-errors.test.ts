// No silent failure in the background: a repair copy that fails for a real reason makes `dfs repair`
// exit 1 naming the copy and why, shows as repair.lastError in `dfs status`, and leaves one line in
// the directory's log; an inventory run while the directory is away is recorded for that server, and
// the proxy's change feed says once that it was lost and once that it is back.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { stopChild } from '../../src/cli/children.ts'
import type { ProxyStatus } from '../../src/client/proxy-client.ts'
import type { RepairFailure } from '../../src/protocol/types.ts'
import type { RepairTask } from '../../src/roles/directory/repairer.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'
import { randomFile } from '../helpers/files.ts'

describe('background errors', () => {
  let cluster: TestCluster
  /** The file server the first test kills. */
  let killed = 0

  // Nothing runs on its own during the test: repair by hand, inventory only at a file server's start.
  before(async () => {
    cluster = await TestCluster.start({
      fileservers: 3,
      directoryArgs: ['--dead-after', '2s', '--repair-every', '1h'],
      fileserverArgs: ['--inventory-every', '1h', '--scrub-every', '1h'],
    })
  })
  after(async () => {
    await cluster?.stop()
  })

  const status = async (): Promise<ProxyStatus | undefined> => {
    const result = await cluster.run(['status', '--json'])
    return result.code === 0 ? (JSON.parse(result.stdout.toString()) as ProxyStatus) : undefined
  }
  const logLines = async (role: string, text: string) =>
    (await readFile(join(cluster.root, `${role}.log`), 'utf8')).split('\n').filter((l) => l.includes(text))

  test('a copy whose source lost its blob: dfs repair exits 1 saying which copy and why', async () => {
    const name = 'fragile.bin'
    const local = join(cluster.root, name)
    const sha = await randomFile(local, 64 * 1024)
    assert.equal((await cluster.run(['put', local, name])).code, 0)
    const [victim, source] = (await cluster.stat(name)).holders
    assert.ok(victim && source)
    // The source's blob goes missing behind the directory's back: it still lists the source as holder.
    await rm(cluster.blobPath(source, sha))
    killed = victim
    const child = cluster.fileservers.get(victim)!
    child.process.kill('SIGKILL')
    await child.exited

    const task = await eventually('the dead holder to be planned for', async () => {
      const dry = await cluster.run(['repair', '--dry-run', '--json'])
      const { plan } = JSON.parse(dry.stdout.toString()) as { plan: RepairTask[] }
      return plan.find((t) => t.name === name && t.target)
    })
    assert.equal(task.source?.id, source)
    const copy = `${name} v1 ${source} -> ${task.target?.id}`

    const run = await cluster.run(['repair'])
    assert.equal(run.code, 1, run.stderr)
    const why = `no blob ${sha} on file server ${source}`
    assert.ok(run.stdout.toString().includes(`failed: ${copy}: ${why}`), run.stdout.toString())
    assert.match(run.stderr, new RegExp(`^dfs: DFS_UNAVAILABLE: 1 of 1 copies failed: ${why}\n$`))

    const json = await cluster.run(['repair', '--json'])
    assert.equal(json.code, 1)
    const output = JSON.parse(json.stdout.toString()) as {
      failures: RepairFailure[]
      error: { code: string }
    }
    assert.deepEqual(output.failures, [{ name, version: 1, source, target: task.target?.id, error: why }])
    assert.equal(output.error.code, 'DFS_UNAVAILABLE')

    const { repair } = (await status())!
    assert.equal(repair.failed, 2)
    assert.equal(repair.lastError?.message, `repair copy of ${copy} failed: ${why}`)
    const human = (await cluster.run(['status'])).stdout.toString()
    assert.ok(human.includes(`repair last error`) && human.includes(why), human)
    // One line per failed copy, with its reason: two runs, two lines.
    const lines = await eventually('the log lines', async () => {
      const found = await logLines('directory', `repair copy of ${copy} failed: ${why}`)
      return found.length >= 2 ? found : undefined
    })
    assert.equal(lines.length, 2)
  })

  test('an inventory while the directory is away is recorded; the change feed says lost, then back', async () => {
    const port = Number(new URL(cluster.directory.url).port)
    await stopChild(cluster.directory)
    // A file server started now takes its first inventory at once, and fails it.
    const id = [1, 2, 3].find((i) => i !== killed)!
    await stopChild(cluster.fileservers.get(id)!)
    await cluster.startFileServer(id)
    await eventually('the failed inventory in the log', async () => {
      const found = await logLines(`fileserver-${id}`, 'inventory failed: ')
      return found.length > 0 ? found : undefined
    })
    await cluster.startDirectory(port)

    const inventory = await eventually('the inventory error in dfs status', async () => {
      const server = (await status())?.servers.find((s) => s.id === id)
      return server?.jobs?.inventory?.lastError
    })
    assert.match(inventory.message, /directory/)
    const human = (await cluster.run(['status'])).stdout.toString()
    assert.ok(human.includes(`inventory last error`), human)

    const feed = await eventually('the change feed to be back', async () => {
      const state = (await status())?.proxy.changeFeed
      return state?.connected ? state : undefined
    })
    assert.ok(feed.lastError, 'the loss is remembered')
    const shown = (await cluster.run(['status'])).stdout.toString()
    assert.ok(shown.includes('change feed from the directory: connected; last error'), shown)
    await eventually('the line saying it is back', async () => {
      const found = await logLines('proxy-1', 'change feed from')
      return found.some((l) => l.includes('is back')) ? found : undefined
    })
    const lost = await logLines('proxy-1', 'lost: ')
    assert.equal(lost.length, 1, 'one line for the loss, not one per retry')
    assert.equal((await logLines('proxy-1', 'is back')).length, 1)
  })
})
