// A full inventory in pages, as the directory takes it (POST /v1/servers/:id/inventory/pages): each
// page is compared with the holders recorded for that server in its hash range, so lost copies in
// the range stop counting and the page's unknown blobs are unreferenced, while other ranges wait for
// their page; a generation comes only with the last page of an inventory followed from its first;
// an inventory left midway (the server or the directory restarted) leaves nothing wrong. The file
// server's side of it is in inventory.test.ts; the whole list in one request, as older file servers
// send it, is here too.

import { after, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'
import { as } from '../helpers/node-identity.ts'

const ID = 7
/** A blob's hash from its first hex digit (and a second, to fall between two). */
const blob = (c: string) => c.padEnd(64, c.at(-1))

interface PageAnswer {
  unreferenced: string[]
  recheck: string[]
  now: number
  inventory: number
  generation?: number
}

describe('inventory pages', () => {
  let directory: TestDirectory
  let now = 1_000_000
  let run = 0
  /** Names of this test, so tests do not see each other's versions. */
  let prefix = ''

  before(async () => {
    directory = await testDirectory({ now: () => now })
    const login = await directory.app.inject({
      method: 'POST',
      url: '/v1/login',
      payload: { user: 'alice', password: 'alice-password' },
    })
    assert.equal(login.statusCode, 200, login.body)
  })
  after(async () => {
    await directory.close()
  })
  beforeEach(async () => {
    prefix = `t${++run}/`
    // Every blob of an earlier test stops counting on this server: each test starts from nothing.
    for (const version of await directory.store.versionsHeldBy(ID, undefined, 10_000))
      await directory.store.setHolders(version.name, version.version, [8])
  })

  const commit = async (name: string, sha256: string, expectedVersion = 0) => {
    now += 1
    await directory.service.commit({
      name: prefix + name,
      expectedVersion,
      sha256,
      size: 1,
      primary: ID,
      holders: [ID, 8],
      writer: 'alice',
    })
  }
  const holders = async (name: string) => (await directory.store.getFile(prefix + name))?.holders
  const post = (path: string, payload: object) =>
    directory.app.inject({
      method: 'POST',
      url: `/v1/servers/${ID}/${path}`,
      payload,
      headers: as('fileserver', ID),
    })
  const page = async (body: object): Promise<PageAnswer> => {
    const response = await post('inventory/pages', body)
    assert.equal(response.statusCode, 200, response.body)
    return response.json()
  }
  const changes = async (base: number, removed: string[] = []) => {
    const response = await post('inventory/changes', { base, added: [], removed, check: [], asOf: now })
    assert.equal(response.statusCode, 200, response.body)
    return response.json() as PageAnswer & { needFull?: true }
  }
  /** Blobs 1 to 6, one name each, held by this server and server 8. */
  const sixFiles = async () => {
    for (const c of '123456') await commit(`f${c}`, blob(c))
    return now
  }

  test('each page drops the copies missing in its range and names its unknown blobs; the rest wait', async () => {
    const asOf = await sixFiles()
    const first = await page({ blobs: [blob('0'), blob('1'), blob('3')], last: blob('3'), asOf })
    assert.deepEqual(first.unreferenced, [blob('0')], 'no version names blob 0')
    assert.deepEqual(first.recheck, [])
    assert.equal(first.generation, undefined, 'no generation before the last page')
    assert.deepEqual(await holders('f2'), [8], 'blob 2 is in the range and missing')
    for (const name of ['f1', 'f3', 'f5']) assert.deepEqual(await holders(name), [ID, 8], name)

    const last = await page({
      blobs: [blob('4'), blob('6')],
      after: blob('3'),
      inventory: first.inventory,
      asOf,
    })
    assert.deepEqual(last.unreferenced, [])
    assert.equal(last.inventory, first.inventory)
    assert.equal(typeof last.generation, 'number')
    assert.deepEqual(await holders('f5'), [8], 'blob 5 is missing from the last range')
    for (const name of ['f1', 'f3', 'f4', 'f6']) assert.deepEqual(await holders(name), [ID, 8], name)

    // Changes build on the generation the last page gave, as on one of a whole list.
    const next = await changes(last.generation!, [blob('4')])
    assert.equal(next.needFull, undefined)
    assert.deepEqual(await holders('f4'), [8])
  })

  test('a missing blob that a version committed after asOf names keeps its holder, and is asked again', async () => {
    const asOf = await sixFiles()
    await commit('fresh', blob('5'))
    const answer = await page({ blobs: ['1', '2', '3', '4', '6'].map(blob), asOf })
    assert.deepEqual(answer.recheck, [blob('5')])
    assert.deepEqual(await holders('f5'), [8], 'committed before asOf: dropped')
    assert.deepEqual(await holders('fresh'), [ID, 8], 'committed after: kept for now')
  })

  test('a first page again (the server restarted midway) starts over; pages of the old one are compared alone', async () => {
    const asOf = await sixFiles()
    const acknowledged = await page({ blobs: ['1', '2', '3', '4', '5', '6'].map(blob), asOf })
    const old = await page({ blobs: [blob('1')], last: blob('2'), asOf })
    assert.equal((await changes(acknowledged.generation!)).needFull, true, 'a full inventory supersedes it')
    assert.deepEqual(await holders('f2'), [8])
    const fresh = await page({ blobs: [blob('1'), blob('2')], last: blob('2'), asOf })
    assert.notEqual(fresh.inventory, old.inventory)
    // A late page of the inventory left midway is still right for its range; it gives nothing more.
    const late = await page({
      blobs: ['3', '4', '6'].map(blob),
      after: blob('2'),
      inventory: old.inventory,
      asOf,
    })
    assert.equal(late.generation, undefined)
    assert.deepEqual(await holders('f5'), [8])
    const last = await page({
      blobs: ['3', '4', '6'].map(blob),
      after: blob('2'),
      inventory: fresh.inventory,
      asOf,
    })
    assert.equal(typeof last.generation, 'number', 'the inventory under way was left alone')
    assert.equal((await changes(last.generation!)).needFull, undefined)
  })

  test('after a directory restart midway, later pages are compared, the last gives no generation', async () => {
    const asOf = await sixFiles()
    const first = await page({ blobs: [blob('1'), blob('2')], last: blob('3'), asOf })
    assert.deepEqual(await holders('f3'), [8])
    directory = await directory.restart()
    const last = await page({
      blobs: [blob('4'), blob('6')],
      after: blob('3'),
      inventory: first.inventory,
      asOf,
    })
    assert.deepEqual(await holders('f5'), [8], 'the page is compared all the same')
    assert.equal(last.generation, undefined)
    assert.equal((await changes(first.inventory)).needFull, true, 'the next inventory must be full')
  })

  test('a page that does not take up where the last one ended, or comes twice, ends with no generation', async () => {
    const asOf = await sixFiles()
    const gap = await page({ blobs: [blob('1')], last: blob('1'), asOf })
    const skipped = await page({ blobs: [blob('6')], after: blob('5'), inventory: gap.inventory, asOf })
    assert.equal(skipped.generation, undefined, 'blobs after 1 up to 5 were never listed')

    const again = await page({ blobs: ['1', '2', '3'].map(blob), last: blob('3'), asOf })
    const second = { blobs: [blob('4')], after: blob('3'), last: blob('4'), inventory: again.inventory, asOf }
    await page(second)
    await page(second)
    const end = await page({ blobs: [blob('6')], after: blob('4'), inventory: again.inventory, asOf })
    assert.equal(end.generation, undefined)
  })

  test('a version pruned while an inventory is under way is garbage in the next answer to changes', async () => {
    // keepVersions is 5: the sixth version of a name prunes its first, whose blob 1 nothing else names.
    await commit('pruned', blob('1'))
    for (const [v, c] of ['a', 'b', 'c', 'd'].entries()) await commit('pruned', blob(c), v + 1)
    const asOf = now
    const first = await page({ blobs: [blob('1')], last: blob('9'), asOf })
    assert.deepEqual(first.unreferenced, [], 'blob 1 is still named when its page is compared')
    await commit('pruned', blob('e'), 5)
    const last = await page({
      blobs: ['a', 'b', 'c', 'd', 'e'].map(blob),
      after: blob('9'),
      inventory: first.inventory,
      asOf,
    })
    const next = await changes(last.generation!)
    assert.deepEqual(next.unreferenced, [blob('1')])
  })

  test('a page must be what it says: in order, within its range, and naming its inventory', async () => {
    const refused = async (body: object, why: RegExp) => {
      const response = await post('inventory/pages', body)
      assert.equal(response.statusCode, 400, response.body)
      assert.equal(response.json().error.code, 'DFS_BAD_REQUEST')
      assert.match(response.json().error.message, why)
    }
    await refused({ blobs: [blob('2'), blob('1')] }, /out of order/)
    await refused({ blobs: [blob('2'), blob('2')] }, /out of order/)
    await refused({ blobs: [blob('2')], after: blob('2'), inventory: 1 }, /not after the range's start/)
    await refused({ blobs: [blob('3')], last: blob('2') }, /past the range's end/)
    await refused({ blobs: [], after: blob('2'), last: blob('1'), inventory: 1 }, /ends before it begins/)
    await refused({ blobs: [blob('3')], after: blob('2') }, /must name its inventory/)
  })

  test("an older file server's whole list in one request: the same comparison, and changes after it", async () => {
    const asOf = await sixFiles()
    // Unsorted, with a blob twice: the directory sorts it into one page of its own.
    const response = await post('inventory', { blobs: ['6', '0', '1', '4', '3', '1'].map(blob), asOf })
    assert.equal(response.statusCode, 200, response.body)
    const answer = response.json() as PageAnswer
    assert.deepEqual(answer.unreferenced, [blob('0')])
    assert.equal('inventory' in answer, false, 'the answer an older file server knows')
    assert.deepEqual(await holders('f2'), [8])
    assert.deepEqual(await holders('f5'), [8])
    assert.deepEqual(await holders('f6'), [ID, 8])
    assert.equal((await changes(answer.generation!)).needFull, undefined)
  })
})
