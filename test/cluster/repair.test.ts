// Durability and self-repair end to end: dead servers' copies replaced (by plan, by hand, and on its
// own), corrupt blobs found by the scrubber and replaced, lost blobs found by the inventory on start
// and by the inventories of changes after it, garbage collected after its grace, and history kept
// and restored.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { RepairTask } from '../../src/roles/directory/repairer.ts'
import type { FileVersion, Located } from '../../src/protocol/types.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually as waitFor } from '../helpers/eventually.ts'
import { randomFile, sha256File } from '../helpers/files.ts'

const fast = ['--inventory-every', '1s', '--gc-grace', '2s', '--scrub-every', '1s', '--scrub-rate', '500MB']

function helpers(get: () => TestCluster) {
  const stat = (name: string): Promise<Located> => get().stat(name)
  const blob = (server: number, sha: string) => get().blobPath(server, sha)
  const eventually = (what: string, check: () => Promise<boolean>) => waitFor(what, check, 45_000)
  const put = async (name: string, size: number) => {
    const local = join(get().root, name.replaceAll('/', '_'))
    const digest = await randomFile(local, size)
    const result = await get().run(['put', local, name])
    assert.equal(result.code, 0, result.stderr)
    return digest
  }
  return { stat, blob, eventually, put }
}

describe('repair by plan and by hand', () => {
  let cluster: TestCluster
  const { stat, blob, eventually, put } = helpers(() => cluster)

  before(async () => {
    cluster = await TestCluster.start({
      fileservers: 4,
      // One copy a second: dfs repair has more copies to make than the rate allows at once, so it
      // must wait for its turn to make them all (the rate's tokens may also have gone to a pass in
      // the background, which a server back from a missed heartbeat wakes).
      directoryArgs: ['--dead-after', '3s', '--repair-every', '1h', '--repair-rate', '1'],
      fileserverArgs: fast,
    })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('a dead server shows in the plan (--dry-run); dfs repair restores two copies of everything', async () => {
    const names = ['a.bin', 'b.bin', 'c.bin', 'd.bin', 'e.bin', 'f.bin']
    const digests = new Map<string, string>()
    for (const name of names) digests.set(name, await put(name, 64 * 1024))
    // The server holding the most: of 12 copies on 4 servers, at least 3.
    const holdersOf = new Map<string, number[]>()
    for (const name of names) holdersOf.set(name, (await stat(name)).holders)
    const held = (id: number) => names.filter((name) => holdersOf.get(name)!.includes(id))
    const victim = [...cluster.fileservers.keys()].sort((a, b) => held(b).length - held(a).length)[0]!
    const endangered = held(victim)
    assert.ok(endangered.length >= 3, `${endangered.length} copies on server ${victim}`)
    const child = cluster.fileservers.get(victim)!
    child.process.kill('SIGKILL')
    await child.exited

    await eventually('the victim to be declared dead and its copies planned for', async () => {
      const plan = JSON.parse((await cluster.run(['repair', '--dry-run', '--json'])).stdout.toString()) as {
        plan: RepairTask[]
      }
      return plan.plan.length === endangered.length
    })
    for (const name of endangered)
      assert.equal((await stat(name)).holders.includes(victim), true, 'dry run changed nothing')

    const run = await cluster.run(['repair', '--json'])
    assert.equal(run.code, 0, run.stderr)
    // It ends when the work it planned is done: every copy made, none left.
    const outcome = JSON.parse(run.stdout.toString()) as { copied: number; failures: unknown[]; left: number }
    assert.deepEqual([outcome.copied, outcome.failures, outcome.left], [endangered.length, [], 0])
    // Run again with nothing to do, it says so in the same fields.
    const idle = await cluster.run(['repair', '--json'])
    assert.equal(idle.code, 0, idle.stderr)
    assert.deepEqual(JSON.parse(idle.stdout.toString()), { plan: [], copied: 0, failures: [], left: 0 })
    for (const name of names) {
      const file = await stat(name)
      assert.equal(file.holders.length, 2, name)
      assert.ok(!file.holders.includes(victim), `${name} still counts the dead server`)
      for (const id of file.holders) assert.equal(await sha256File(blob(id, file.sha256)), digests.get(name))
    }
    const status = JSON.parse((await cluster.run(['status', '--json'])).stdout.toString()) as {
      repair: { underReplicated: number; repaired: number }
      servers: { id: number; dead: boolean }[]
    }
    assert.ok(status.repair.repaired >= endangered.length)
    assert.equal(status.servers.find((s) => s.id === victim)?.dead, true)
  })
})

describe('self-repair', () => {
  let cluster: TestCluster
  const { stat, blob, eventually, put } = helpers(() => cluster)

  before(async () => {
    cluster = await TestCluster.start({
      fileservers: 3,
      directoryArgs: ['--dead-after', '3s', '--repair-every', '500ms', '--keep-versions', '2'],
      fileserverArgs: fast,
    })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('the scrubber finds a corrupt blob, quarantines it, and repair replaces it', async () => {
    const digest = await put('scrubbed.bin', 256 * 1024)
    const file = await stat('scrubbed.bin')
    const bad = file.holders[1]!
    const handle = await open(blob(bad, digest), 'r+')
    await handle.write(Buffer.from('rot'), 0, 3, 1000)
    await handle.close()
    await eventually('the bad copy to be replaced by a good one', async () => {
      const now = await stat('scrubbed.bin')
      if (now.holders.length !== 2) return false
      for (const id of now.holders) {
        if (!existsSync(blob(id, digest)) || (await sha256File(blob(id, digest))) !== digest) return false
      }
      return true
    })
    assert.ok(existsSync(join(cluster.data, `fileserver-${bad}`, 'quarantine')))
  })

  test('a blob lost while its server was down is found by the inventory on start and copied again', async () => {
    const digest = await put('lost.bin', 128 * 1024)
    const file = await stat('lost.bin')
    const id = file.holders[0]!
    const child = cluster.fileservers.get(id)!
    child.process.kill('SIGKILL')
    await child.exited
    await rm(blob(id, digest))
    await cluster.startFileServer(id)
    await eventually('two good copies again', async () => {
      const now = await stat('lost.bin')
      return now.holders.length === 2 && now.holders.every((h) => existsSync(blob(h, digest)))
    })
  })

  test("a blob lost behind a running server's back is noticed by its next inventory of changes", async () => {
    const digest = await put('vanished.bin', 64 * 1024)
    const id = (await stat('vanished.bin')).holders[0]!
    // The server keeps running: only an inventory of what changed since the last one can tell.
    await rm(blob(id, digest))
    await eventually('two good copies again', async () => {
      const now = await stat('vanished.bin')
      return now.holders.length === 2 && now.holders.every((h) => existsSync(blob(h, digest)))
    })
  })

  test('history: dfs log lists versions, dfs restore brings one back, even after rm', async () => {
    for (const text of ['one\n', 'two\n', 'three\n']) {
      const r = await cluster.run(['put', '-', 'story.txt', '--force'], { input: text })
      assert.equal(r.code, 0, r.stderr)
    }
    const log = JSON.parse(
      (await cluster.run(['log', 'story.txt', '--json'])).stdout.toString(),
    ) as FileVersion[]
    assert.deepEqual(
      log.map((v) => v.version),
      [3, 2],
      '--keep-versions 2 keeps the newest two',
    )
    const restored = await cluster.run(['restore', 'story.txt', '--version', '2'])
    assert.equal(restored.code, 0, restored.stderr)
    assert.equal((await cluster.run(['get', 'story.txt', '-'])).stdout.toString(), 'two\n')
    assert.equal((await stat('story.txt')).version, 4)

    assert.equal((await cluster.run(['rm', 'story.txt'])).code, 0)
    const back = await cluster.run(['restore', 'story.txt', '--version', '4'])
    assert.equal(back.code, 0, back.stderr)
    assert.equal((await cluster.run(['get', 'story.txt', '-'])).stdout.toString(), 'two\n')
  })

  test('blobs no kept version needs are collected after the grace period', async () => {
    const first = await put('churn.bin', 64 * 1024)
    const holders = (await stat('churn.bin')).holders
    for (let i = 0; i < 2; i++) {
      const local = join(cluster.root, `churn-${i}`)
      await randomFile(local, 64 * 1024)
      assert.equal((await cluster.run(['put', local, 'churn.bin', '--force'])).code, 0)
    }
    // Version 1 fell out of the two kept: its blob is garbage once the grace period has passed.
    await eventually('the old blob to be collected', async () =>
      holders.every((id) => !existsSync(blob(id, first))),
    )
    const current = await stat('churn.bin')
    for (const id of current.holders)
      assert.ok(existsSync(blob(id, current.sha256)), 'the current blob stays')
  })

  test('a server killed for good has its copies re-made elsewhere on its own', async () => {
    const digest = await put('orphan.bin', 64 * 1024)
    const file = await stat('orphan.bin')
    const victim = file.holders[0]!
    const child = cluster.fileservers.get(victim)!
    child.process.kill('SIGKILL')
    await child.exited
    await eventually('a new copy on a live server', async () => {
      const now = await stat('orphan.bin')
      return (
        now.holders.length === 2 &&
        !now.holders.includes(victim) &&
        now.holders.every((h) => existsSync(blob(h, digest)))
      )
    })
  })
})
