// Inventories between a real file server service (a disk blob store in a temp dir) and a directory
// app, through app.inject(): the first inventory lists every blob, in pages of hash ranges, later
// ones only what changed, garbage is still found and collected after its grace, a restarted
// directory gets a full list, and a full list left midway leaves nothing wrong. (The directory's
// side of the pages alone is in inventory-pages.test.ts.)

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { makeAgent } from '../../src/client/agent.ts'
import { DirectoryClient } from '../../src/client/directory-client.ts'
import type { Fetch } from '../../src/client/http.ts'
import { FileServerService } from '../../src/roles/fileserver/service.ts'
import type { InventoryRun } from '../../src/roles/fileserver/inventory.ts'
import { DiskBlobStore } from '../../src/storage/disk-blob-store.ts'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'
import { injectFetch } from '../helpers/inject-fetch.ts'
import { as } from '../helpers/node-identity.ts'

const GRACE = 3600_000
const DAY = 24 * 3600_000
const ID = 7

interface Sent {
  path: string
  bytes: number
  body: Record<string, unknown>
  answer: Record<string, unknown>
}

describe('inventories', () => {
  let directory: TestDirectory
  let dir: string
  let blobs: DiskBlobStore
  let server: FileServerService
  let now = 1_000_000
  /** The inventory calls the file server made in the last run, with their answers. */
  let sent: Sent[] = []
  /** Counted down on each page sent: the page that brings it to 0 fails, as a directory's error. */
  let failPage = 0
  const agent = makeAgent({ ca: '' })

  before(async () => {
    directory = await testDirectory({ now: () => now })
    const login = await directory.app.inject({
      method: 'POST',
      url: '/v1/login',
      payload: { user: 'alice', password: 'alice-password' },
    })
    assert.equal(login.statusCode, 200, login.body)
    dir = await mkdtemp(join(tmpdir(), 'dfs-inventory-'))
    blobs = new DiskBlobStore(dir)
    await blobs.open()
    // Every call reaches whichever directory app is current (see the restart test), as file server 7.
    const fetch: Fetch = async (input, init) => {
      const request = new Request(input, init)
      const body = await request.clone().text()
      if (request.url.endsWith('/inventory/pages') && --failPage === 0) {
        const error = { error: { code: 'DFS_INTERNAL', message: 'injected failure' } }
        return Response.json(error, { status: 500 })
      }
      const response = await injectFetch(directory.app, as('fileserver', ID))(request)
      const path = new URL(request.url).pathname
      if (request.method === 'POST') {
        const answer = (await response.clone().json()) as Record<string, unknown>
        sent.push({ path, bytes: Buffer.byteLength(body), body: JSON.parse(body) as never, answer })
      }
      return response
    }
    const client = new DirectoryClient('https://directory.test', fetch)
    server = new FileServerService(
      ID,
      blobs,
      client,
      agent,
      { warn: () => undefined },
      join(dir, 'inventory'),
    )
  })
  after(async () => {
    await directory.close()
    await agent.close()
    await rm(dir, { recursive: true, force: true })
  })

  const store = async (text: string): Promise<string> => {
    const writer = await blobs.createWriter()
    await writer.write(Buffer.from(text))
    return (await writer.commit()).sha256
  }
  const commit = (name: string, sha256: string, expectedVersion = 0) =>
    directory.service.commit({
      name,
      expectedVersion,
      sha256,
      size: 1,
      primary: ID,
      holders: [ID, 8],
      writer: 'alice',
    })
  const holders = async (name: string) => (await directory.store.getFile(name))?.holders
  /** One inventory run, a little later on the directory's clock; `later` moves the file server's. */
  const inventory = async (later = 0, fullEveryMs = DAY, pageSize?: number): Promise<InventoryRun> => {
    now += 1000
    sent = []
    return server.reconcile(Date.now() + later, { graceMs: GRACE, fullEveryMs, pageSize })
  }
  const paths = () => sent.map((s) => s.path.replace(`/v1/servers/${ID}/`, ''))
  const listed = async () => {
    const all: string[] = []
    for await (const sha256 of blobs.list()) all.push(sha256)
    return all
  }
  /** A name whose current version's blob this server holds, for the `n`th blob in hash order. */
  const nameOfBlob = async (n: number) => {
    const all = await listed()
    for (let i = n; i < all.length; i++) {
      const [version] = await directory.store.versionsWithBlob(ID, all[i]!)
      if (version && (await directory.store.getFile(version.name))?.version === version.version)
        return version.name
    }
    assert.fail(`no current version among blobs ${n} and after`)
  }
  const changes = () => {
    const call = sent.find((s) => s.path.endsWith('/inventory/changes'))
    assert.ok(call, `no inventory of changes in ${paths().join(', ')}`)
    const { added, removed, check } = call.body
    return { added, removed, check, bytes: call.bytes }
  }

  test('the first inventory lists every blob; the next, with nothing changed, sends no list', async () => {
    const all: string[] = []
    for (let i = 0; i < 50; i++) {
      const sha256 = await store(`file ${i}\n`)
      await commit(`files/${i}`, sha256)
      all.push(sha256)
    }
    const first = await inventory()
    assert.deepEqual(first, { held: 50, collected: 0, full: true })
    assert.deepEqual(paths(), ['inventory/pages'], 'one page, from the first hash to the last')
    const { blobs, after, last, inventory: number } = sent[0]!.body
    assert.deepEqual(blobs, all.toSorted(), 'in hash order')
    assert.deepEqual([after, last, number], [undefined, undefined, undefined])
    assert.equal(typeof sent[0]!.answer.generation, 'number')
    assert.ok(sent[0]!.bytes > 50 * 64)

    const second = await inventory()
    assert.deepEqual(second, { held: 50, collected: 0, full: false })
    assert.deepEqual(paths(), ['inventory/changes'])
    const { bytes, ...lists } = changes()
    assert.deepEqual(lists, { added: [], removed: [], check: [] })
    assert.ok(bytes < 100, `${bytes} bytes for nothing changed`)
    assert.deepEqual(sent[0]!.answer.unreferenced, [])
  })

  test('blobs added and removed are told; a lost blob stops counting its server as holder', async () => {
    const added = await store('added\n')
    await commit('added.txt', added)
    const lost = (await directory.store.getFile('files/0'))!.sha256
    await blobs.remove(lost)
    await inventory()
    assert.deepEqual(changes(), { added: [added], removed: [lost], check: [], bytes: changes().bytes })
    assert.deepEqual(await holders('files/0'), [8])
    assert.deepEqual(await holders('added.txt'), [ID, 8])
    assert.deepEqual(await holders('files/1'), [ID, 8])
  })

  test('a lost blob that a version committed since the last answer names is asked about again', async () => {
    const sha256 = await store('twice\n')
    await commit('twice/old', sha256)
    await inventory()
    await blobs.remove(sha256)
    // Committed after the answer the next inventory's asOf is: its blob may land after the listing.
    now += 1
    await commit('twice/new', sha256)
    await inventory()
    assert.deepEqual(changes().removed, [sha256])
    assert.deepEqual(await holders('twice/old'), [8])
    assert.deepEqual(await holders('twice/new'), [ID, 8], 'kept for now')
    await inventory()
    assert.deepEqual(changes().removed, [sha256], 'told again')
    assert.deepEqual(await holders('twice/new'), [8])
  })

  test('a blob stored and lost before any listing saw it is told as removed all the same', async () => {
    const { sha256 } = await server.acceptReplica(Readable.from([Buffer.from('short-lived\n')]))
    await commit('short-lived.txt', sha256)
    await blobs.remove(sha256)
    await inventory()
    assert.deepEqual(changes().removed, [sha256])
    await inventory()
    assert.deepEqual(await holders('short-lived.txt'), [8])
  })

  test('an unreferenced new blob is kept through its grace, asked about again, then collected', async () => {
    const garbage = await store('nobody commits this\n')
    assert.equal((await inventory()).collected, 0)
    assert.deepEqual(changes().added, [garbage])
    assert.equal((await inventory()).collected, 0)
    assert.deepEqual(changes().check, [garbage])
    assert.ok(existsSync(blobs.pathOf(garbage)), 'young garbage stays')
    assert.equal((await inventory(2 * GRACE)).collected, 1)
    assert.ok(!existsSync(blobs.pathOf(garbage)))
    await inventory()
    assert.deepEqual(changes(), { added: [], removed: [garbage], check: [], bytes: changes().bytes })
  })

  test("a pruned version's blob is named garbage in the next answer to changes", async () => {
    const versions: string[] = []
    // keepVersions is 5: the sixth version prunes the first.
    for (let v = 1; v <= 5; v++) {
      versions.push(await store(`version ${v}\n`))
      await commit('pruned.txt', versions.at(-1)!, v - 1)
    }
    await inventory()
    const sixth = await store('version 6\n')
    await commit('pruned.txt', sixth, 5)
    const run = await inventory(2 * GRACE)
    assert.deepEqual(changes(), { added: [sixth], removed: [], check: [], bytes: changes().bytes })
    assert.equal(run.collected, 1)
    assert.ok(!existsSync(blobs.pathOf(versions[0]!)), 'the pruned blob is collected')
    for (const sha256 of [...versions.slice(1), sixth]) assert.ok(existsSync(blobs.pathOf(sha256)))
  })

  test('a restarted directory asks for a full inventory, and takes changes again after it', async () => {
    directory = await directory.restart()
    const run = await inventory()
    assert.equal(run.full, true)
    assert.deepEqual(paths(), ['inventory/changes', 'inventory/pages'])
    assert.equal(sent[0]!.answer.needFull, true)
    assert.equal((sent[1]!.body.blobs as string[]).length, run.held)
    const next = await inventory()
    assert.equal(next.full, false)
    assert.deepEqual(paths(), ['inventory/changes'])
  })

  test('the whole list is sent again once fullEveryMs has passed', async () => {
    assert.equal((await inventory(0, DAY)).full, false)
    assert.equal((await inventory(DAY, DAY)).full, true)
    assert.deepEqual(paths(), ['inventory/pages'])
  })

  test('a full inventory goes in pages of hash ranges, each taking up where the one before ended', async () => {
    const lost = await nameOfBlob(20)
    await blobs.remove((await directory.store.getFile(lost))!.sha256)
    const run = await inventory(2 * DAY, DAY, 7)
    assert.equal(run.full, true)
    const pages = sent.filter((s) => s.path.endsWith('/inventory/pages'))
    assert.equal(pages.length, Math.ceil(run.held / 7))
    assert.ok(pages.length > 3)
    const sentBlobs: string[] = []
    let after: unknown
    for (const [i, { body, answer }] of pages.entries()) {
      const blobs = body.blobs as string[]
      const lastPage = i === pages.length - 1
      assert.equal(body.after, after, `page ${i} starts where page ${i - 1} ended`)
      assert.equal(body.last, lastPage ? undefined : blobs.at(-1))
      assert.equal(body.inventory, i === 0 ? undefined : pages[0]!.answer.inventory)
      assert.equal(typeof answer.generation, lastPage ? 'number' : 'undefined')
      sentBlobs.push(...blobs)
      after = body.last
    }
    assert.deepEqual(sentBlobs, await listed(), 'every blob once, in hash order')
    assert.deepEqual(await holders(lost), [8], 'the lost copy stops counting')
    const next = await inventory()
    assert.equal(next.full, false, 'changes build on the last page')
    assert.deepEqual(changes().removed, [])
  })

  test('a full inventory left midway leaves nothing wrong, and the next one is full again', async () => {
    // One lost copy in the first page's range, one in a range past the failed page's.
    const early = await nameOfBlob(1)
    const late = await nameOfBlob((await listed()).length - 3)
    for (const name of [early, late]) await blobs.remove((await directory.store.getFile(name))!.sha256)
    failPage = 3
    await assert.rejects(inventory(4 * DAY, DAY, 7), /injected failure/)
    assert.equal(paths().length, 2, 'two pages were taken')
    assert.deepEqual(await holders(early), [8], 'what a page taken showed counts')
    assert.deepEqual(await holders(late), [ID, 8], 'a range never sent is left as it was')
    const again = await inventory(0, DAY, 7)
    assert.equal(again.full, true)
    assert.equal(paths()[0], 'inventory/pages', 'no generation to send changes from')
    assert.deepEqual(await holders(late), [8])
    assert.equal((await inventory()).full, false)
  })

  test('changes against a generation this directory never gave ask for a full inventory', async () => {
    // (Changes from the wrong server, or with bad hashes, are in test/security/bad-inputs.test.ts.)
    const answer = await directory.app.inject({
      method: 'POST',
      url: `/v1/servers/${ID}/inventory/changes`,
      payload: { base: 1, added: [], removed: [], check: [], asOf: now },
      headers: as('fileserver', ID),
    })
    assert.equal(answer.statusCode, 200)
    assert.deepEqual(answer.json(), { needFull: true, now })
  })
})
