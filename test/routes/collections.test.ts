// The directory's routes for a WebDAV gateway (delimited listings, folders, move and copy, dead
// properties), called through the proxy's own typed client over app.inject: who may do what, and
// bad input refused once with a stable code.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { DirectoryClient, type UserDirectoryClient } from '../../src/client/directory-client.ts'
import { DfsError } from '../../src/protocol/errors.ts'
import type { AuditEntry, ListPage } from '../../src/protocol/types.ts'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'
import { injectFetch } from '../helpers/inject-fetch.ts'

const SHA_A = 'a'.repeat(64)

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof DfsError, `a DfsError, not ${String(error)}`)
    return error.code
  }
  assert.fail('expected a refusal')
}

describe('directory routes for collections', () => {
  let directory: TestDirectory
  const now = 1_000_000
  // root registers first (the admin), then alice and bob.
  const as: Record<string, UserDirectoryClient> = {}
  const sessions: Record<string, string> = {}

  before(async () => {
    directory = await testDirectory({ now: () => now })
    const client = new DirectoryClient('https://directory.test', injectFetch(directory.app))
    for (const user of ['root', 'alice', 'bob']) {
      const session = await client.login(user, `${user}-password`)
      sessions[user] = session.token
      as[user] = client.forUser(session.token)
    }
  })
  after(async () => {
    await directory.close()
  })

  /** A file as a commit from its file server would make it. */
  const file = (name: string, owner = 'alice', mode = 0o664) =>
    directory.store.commit(
      {
        name,
        expectedVersion: 0,
        sha256: SHA_A,
        size: 1,
        primary: 1,
        holders: [1, 2],
        writer: owner,
        perms: { owner, group: 'users', mode },
      },
      now,
    )
  const audited = async (action: string): Promise<AuditEntry[]> => {
    await directory.audit.flush()
    const entries: AuditEntry[] = []
    for await (const entry of directory.audit.read()) if (entry.action === action) entries.push(entry)
    return entries
  }

  test('a delimited listing: files and prefixes one level down, paged together, only what the user may read', async () => {
    await file('l/x')
    await file('l/b/c')
    await file('l/b/d')
    await file('l/secret/s', 'alice', 0o600)
    await file('l/z', 'alice', 0o600)
    await as.alice!.makeFolder('l/empty/')
    const page = await as.bob!.list({ prefix: 'l/', delimiter: '/' })
    assert.deepEqual(page, { files: [page.files[0]], prefixes: ['l/b/', 'l/empty/'] })
    assert.equal(page.files[0]?.name, 'l/x')
    const alices = await as.alice!.list({ prefix: 'l/', delimiter: '/' })
    assert.deepEqual(
      [alices.files.map((f) => f.name), alices.prefixes],
      [
        ['l/x', 'l/z'],
        ['l/b/', 'l/empty/', 'l/secret/'],
      ],
    )
    const pages: ListPage[] = []
    let after: string | undefined
    do {
      const next: ListPage = await as.alice!.list({
        prefix: 'l/',
        delimiter: '/',
        limit: 2,
        ...(after ? { after } : {}),
      })
      pages.push(next)
      after = next.next
    } while (after !== undefined && pages.length < 10)
    assert.deepEqual(
      pages.map((p) => [...p.files.map((f) => f.name), ...(p.prefixes ?? [])]),
      [['l/b/', 'l/empty/'], ['l/x', 'l/secret/'], ['l/z']],
    )
    assert.equal((await as.alice!.list({ prefix: 'l/' })).prefixes, undefined, 'no delimiter, no prefixes')
    const bad = await directory.app.inject({
      method: 'GET',
      url: '/v1/list?prefix=l/&delimiter=,',
      headers: { 'dfs-session': sessions.alice! },
    })
    assert.equal(bad.json().error.code, 'DFS_BAD_REQUEST', 'only / splits names')
  })

  test('folders: made once, seen, removed; the rule of the prefix decides who may', async () => {
    assert.deepEqual(await as.alice!.makeFolder('f/new/'), { prefix: 'f/new/', created: true })
    assert.deepEqual(await as.alice!.makeFolder('f//new/'), { prefix: 'f/new/', created: false })
    assert.deepEqual(await as.bob!.folderExists('f/new/'), { exists: true })
    assert.deepEqual(await as.bob!.folderExists('f/'), { exists: false })
    assert.equal(await refusal(as.alice!.makeFolder('f/nodir')), 'DFS_BAD_NAME', 'a folder ends in /')
    assert.equal(await refusal(as.alice!.makeFolder('../up/')), 'DFS_BAD_NAME')
    assert.equal(await refusal(as.alice!.makeFolder('/')), 'DFS_BAD_NAME', 'not the root')
    await as.alice!.setPerms({ name: 'home/alice/', mode: '755' })
    assert.equal(await refusal(as.bob!.makeFolder('home/alice/mine/')), 'DFS_FORBIDDEN')
    assert.deepEqual(await as.alice!.makeFolder('home/alice/mine/'), {
      prefix: 'home/alice/mine/',
      created: true,
    })
    assert.equal(await refusal(as.bob!.removeFolder('home/alice/mine/')), 'DFS_FORBIDDEN')
    assert.deepEqual(await as.alice!.removeFolder('home/alice/mine/'), { removed: true })
    assert.deepEqual(await as.alice!.removeFolder('home/alice/mine/'), { removed: false })
    const made = await audited('folder.add')
    assert.ok(made.some((e) => e.name === 'home/alice/mine/' && e.user === 'alice' && e.outcome === 'ok'))
    assert.ok(
      made.some((e) => e.user === 'bob' && e.outcome === 'DFS_FORBIDDEN'),
      'refusals too',
    )
  })

  test('a move: the target takes the bytes, perms and properties, the source goes; who may, and bad input', async () => {
    await file('mv/src')
    await as.alice!.setProps({ name: 'mv/src', set: { '{DAV:}displayname': 'Source' } })
    const { from, to } = await as.alice!.move({ from: 'mv/src', to: 'mv/dst' })
    assert.deepEqual(
      [from.name, to.name, to.version, to.sha256, to.owner, to.mode],
      ['mv/src', 'mv/dst', 1, SHA_A, 'alice', 0o664],
    )
    assert.equal(await refusal(as.alice!.locate('mv/src')), 'DFS_NOT_FOUND')
    assert.deepEqual((await as.alice!.props('mv/dst')).props, { '{DAV:}displayname': 'Source' })
    // Bob may read alice's mv/dst (664: group users may write too), but not write alice's private file.
    await file('mv/private', 'alice', 0o600)
    assert.equal(
      await refusal(as.bob!.move({ from: 'mv/private', to: 'mv/mine' })),
      'DFS_FORBIDDEN',
      'may not read from',
    )
    await file('mv/readonly', 'alice', 0o644)
    assert.equal(
      await refusal(as.bob!.move({ from: 'mv/readonly', to: 'mv/mine' })),
      'DFS_FORBIDDEN',
      'may not write from',
    )
    await file('mv/bobs', 'bob', 0o644)
    assert.equal(
      await refusal(as.alice!.move({ from: 'mv/dst', to: 'mv/bobs' })),
      'DFS_FORBIDDEN',
      'may not write to',
    )
    assert.equal(
      await refusal(as.alice!.move({ from: 'mv/dst', to: 'mv//dst' })),
      'DFS_BAD_REQUEST',
      'onto itself',
    )
    assert.equal(await refusal(as.alice!.move({ from: 'mv/dst', to: '../x' })), 'DFS_BAD_NAME')
    assert.equal(await refusal(as.alice!.move({ from: 'mv/none', to: 'mv/x' })), 'DFS_NOT_FOUND')
    await file('mv/there')
    assert.equal(
      await refusal(as.alice!.move({ from: 'mv/dst', to: 'mv/there', overwrite: false })),
      'DFS_EXISTS',
    )
    assert.equal(
      await refusal(as.alice!.move({ from: 'mv/dst', to: 'mv/x', lease: 'not-a-key' })),
      'DFS_BAD_REQUEST',
    )
    const moves = await audited('move')
    assert.ok(moves.some((e) => e.name === 'mv/src' && e.detail?.includes('to mv/dst') && e.outcome === 'ok'))
    assert.ok(moves.some((e) => e.user === 'bob' && e.outcome === 'DFS_FORBIDDEN'))
  })

  test('a lease on either name stops a move unless its holder gives its key', async () => {
    await file('ls/a')
    const held = await as.bob!.acquire('ls/b', 30_000, 0)
    assert.equal(await refusal(as.alice!.move({ from: 'ls/a', to: 'ls/b' })), 'DFS_LOCKED')
    assert.equal(
      await refusal(as.alice!.move({ from: 'ls/a', to: 'ls/b', toLease: held.key })),
      'DFS_CONFLICT',
    )
    await file('ls/c', 'bob')
    const moved = await as.bob!.move({ from: 'ls/c', to: 'ls/b', toLease: held.key })
    assert.equal(moved.to.name, 'ls/b')
  })

  test('a copy: the source stays; a new target is the writer’s, an existing one keeps its owner', async () => {
    await file('cp/src', 'alice', 0o644)
    const fresh = await as.bob!.copy({ from: 'cp/src', to: 'cp/bobs' })
    assert.deepEqual([fresh.to.name, fresh.to.owner, fresh.to.sha256], ['cp/bobs', 'bob', SHA_A])
    assert.equal((await as.alice!.locate('cp/src')).version, 1)
    await file('cp/shared', 'alice', 0o666)
    const over = await as.bob!.copy({ from: 'cp/src', to: 'cp/shared' })
    assert.deepEqual([over.to.version, over.to.owner], [2, 'alice'])
    await file('cp/private', 'alice', 0o600)
    assert.equal(
      await refusal(as.bob!.copy({ from: 'cp/private', to: 'cp/x' })),
      'DFS_FORBIDDEN',
      'may not read from',
    )
    assert.equal(
      await refusal(as.bob!.copy({ from: 'cp/src', to: 'cp/private' })),
      'DFS_FORBIDDEN',
      'may not write to',
    )
    assert.equal(
      await refusal(as.bob!.copy({ from: 'cp/src', to: 'cp/bobs', overwrite: false })),
      'DFS_EXISTS',
    )
    assert.equal(await refusal(as.bob!.copy({ from: 'cp/src', to: 'cp/src' })), 'DFS_BAD_REQUEST')
  })

  test('dead properties: read and written as the name allows, bounded, of files and folders', async () => {
    await file('pp/a', 'alice', 0o644)
    assert.deepEqual(await as.bob!.props('pp/a'), { name: 'pp/a', props: {} })
    const set = await as.alice!.setProps({ name: 'pp/a', set: { '{urn:x}color': '<c>red</c>', '{}n': '1' } })
    assert.deepEqual(set, { name: 'pp/a', props: { '{urn:x}color': '<c>red</c>', '{}n': '1' } })
    assert.deepEqual(await as.alice!.setProps({ name: 'pp/a', remove: ['{}n'] }), {
      name: 'pp/a',
      props: { '{urn:x}color': '<c>red</c>' },
    })
    assert.equal(await refusal(as.bob!.setProps({ name: 'pp/a', set: { '{}n': '2' } })), 'DFS_FORBIDDEN')
    await file('pp/hidden', 'alice', 0o600)
    assert.equal(await refusal(as.bob!.props('pp/hidden')), 'DFS_FORBIDDEN')
    assert.equal(await refusal(as.alice!.setProps({ name: 'pp/a', set: { color: 'x' } })), 'DFS_BAD_REQUEST')
    assert.equal(
      await refusal(as.alice!.setProps({ name: 'pp/a', set: { '{}big': 'x'.repeat(16 * 1024 + 1) } })),
      'DFS_TOO_LARGE',
    )
    assert.equal(await refusal(as.alice!.setProps({ name: 'pp/none', set: { '{}a': '1' } })), 'DFS_NOT_FOUND')
    assert.equal(await refusal(as.alice!.setProps({ name: '/', set: { '{}a': '1' } })), 'DFS_BAD_NAME')
    assert.deepEqual((await as.bob!.setProps({ name: 'pp/', set: { '{}dir': 'yes' } })).props, {
      '{}dir': 'yes',
    })
    assert.deepEqual((await as.bob!.props('pp/')).props, { '{}dir': 'yes' })
    const response = await directory.app.inject({
      method: 'POST',
      url: '/v1/props',
      payload: { name: 'pp/a', set: { '{}a': { not: 'a string' } } },
      headers: { 'dfs-session': sessions.alice! },
    })
    assert.equal(response.json().error.code, 'DFS_BAD_REQUEST')
    assert.ok((await audited('props')).some((e) => e.name === 'pp/a' && e.outcome === 'DFS_FORBIDDEN'))
  })
})
