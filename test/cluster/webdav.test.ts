// The WebDAV gateway driven by a client no one here wrote (the `webdav` package from npm) and by raw
// requests for the protocol's corners: one namespace with `dfs put/get`, locks that are dfs leases,
// PROPFIND depths, dead properties, COPY and MOVE with Overwrite, and the status codes clients expect.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Agent as HttpsAgent } from 'node:https'
import { connect } from 'node:tls'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { spawn } from 'node:child_process'
import { Agent, request } from 'undici'
import { createClient, type FileStat, type WebDAVClient } from 'webdav'
import { readCaCert } from '../../src/tls/ca.ts'
import { BIN, TestCluster } from '../helpers/cluster.ts'

describe('WebDAV gateway', () => {
  let cluster: TestCluster
  let ca: string
  let agent: Agent
  let client: WebDAVClient
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  const tester = basic('tester', 'test-password')

  /** A raw WebDAV request as tester (or with the headers given). */
  const dav = async (
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string } = {},
  ) => {
    const response = await request(`${cluster.proxy}/dav/${path}`, {
      method,
      dispatcher: agent,
      headers: { authorization: tester, ...options.headers },
      ...(options.body === undefined ? {} : { body: options.body }),
    })
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() }
  }

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3, proxyArgs: ['--webdav'] })
    // The first command registers tester.
    assert.equal((await cluster.run(['ls'])).code, 0)
    await cluster.run(['ls'], { env: cluster.as('bob') })
    ca = (await readCaCert(cluster.data))!
    agent = new Agent({ connect: { ca } })
    client = createClient(`${cluster.proxy}/dav/`, {
      username: 'tester',
      password: 'test-password',
      httpsAgent: new HttpsAgent({ ca }),
    })
  })
  after(async () => {
    await agent?.close()
    await cluster?.stop()
  })

  test('OPTIONS says class 1 and 2, without a login', async () => {
    const response = await dav('OPTIONS', '', { headers: { authorization: '' } })
    assert.equal(response.status, 200)
    assert.match(String(response.headers.dav), /\b2\b/)
    assert.match(String(response.headers.allow), /PROPFIND/)
  })

  test('without credentials, or with wrong ones, the answer is 401 asking for Basic', async () => {
    const none = await dav('PROPFIND', '', { headers: { authorization: '', depth: '0' } })
    assert.equal(none.status, 401)
    assert.match(String(none.headers['www-authenticate']), /^Basic realm="dfs"/)
    const wrong = await dav('PROPFIND', '', {
      headers: { authorization: basic('tester', 'nope'), depth: '0' },
    })
    assert.equal(wrong.status, 401)
  })

  test('failed Basic logins are throttled at the directory, as dfs login is', async () => {
    await cluster.run(['ls'], { env: cluster.as('mallory') })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      const response = await dav('PROPFIND', '', {
        headers: { authorization: basic('mallory', `guess-${i}`), depth: '0' },
      })
      statuses.push(response.status)
      if (response.status === 429) assert.match(String(response.headers['retry-after']), /^[1-9][0-9]*$/)
    }
    assert.deepEqual(statuses.slice(0, 3), [401, 401, 401])
    assert.equal(statuses.at(-1), 429, `statuses ${statuses.join(' ')}`)
  })

  test('a PUT of unknown length (chunked) streams in like any other', async () => {
    await client.createDirectory('chunked')
    const parts = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i))
    const response = await request(`${cluster.proxy}/dav/chunked/stream.bin`, {
      method: 'PUT',
      dispatcher: agent,
      headers: { authorization: tester },
      body: Readable.from(parts),
    })
    await response.body.dump()
    assert.equal(response.statusCode, 201)
    const stat = await cluster.stat('chunked/stream.bin')
    assert.equal(stat.size, 64 * 64 * 1024)
    assert.equal(stat.sha256, createHash('sha256').update(Buffer.concat(parts)).digest('hex'))
  })

  test('a file written over WebDAV is read by dfs get at once, and one put by dfs is read over WebDAV', async () => {
    await client.createDirectory('docs')
    await client.putFileContents('docs/hello.txt', 'hello from webdav')
    const get = await cluster.run(['get', 'docs/hello.txt', '-'])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(get.stdout.toString(), 'hello from webdav')

    const put = await cluster.run(['put', '-', 'docs/from-cli.txt'], { input: 'hello from dfs' })
    assert.equal(put.code, 0, put.stderr)
    assert.equal(await client.getFileContents('docs/from-cli.txt', { format: 'text' }), 'hello from dfs')

    // Replacing a file (dfs replaces a name only under its lease: the gateway takes one).
    await client.putFileContents('docs/from-cli.txt', 'replaced over webdav')
    assert.equal(
      (await cluster.run(['get', 'docs/from-cli.txt', '-'])).stdout.toString(),
      'replaced over webdav',
    )
  })

  test('a listing (Depth 1) shows files with size and ETag, and folders as collections', async () => {
    await client.createDirectory('docs/sub')
    const listed = (await client.getDirectoryContents('docs')) as FileStat[]
    const byName = new Map(listed.map((entry) => [entry.basename, entry]))
    assert.equal(byName.get('hello.txt')?.type, 'file')
    assert.equal(byName.get('hello.txt')?.size, 'hello from webdav'.length)
    assert.match(String(byName.get('hello.txt')?.etag), /^"?[0-9a-f]{64}"?$/)
    assert.equal(byName.get('sub')?.type, 'directory', 'an empty folder made by MKCOL persists')
    const stat = (await client.stat('docs/hello.txt')) as FileStat
    assert.equal(stat.size, 17)
  })

  test('PROPFIND: Depth 0, propname, named properties (404 for unknown ones), infinity refused', async () => {
    const zero = await dav('PROPFIND', 'docs/', { headers: { depth: '0' } })
    assert.equal(zero.status, 207)
    assert.equal(zero.text.match(/<D:response>/g)?.length, 1)
    assert.match(zero.text, /<D:collection\/>/)

    const names = await dav('PROPFIND', 'docs/hello.txt', {
      headers: { depth: '0', 'content-type': 'application/xml' },
      body: '<?xml version="1.0"?><propfind xmlns="DAV:"><propname/></propfind>',
    })
    assert.equal(names.status, 207)
    assert.match(names.text, /<D:getcontentlength\/>/)
    assert.doesNotMatch(names.text, /17/)

    const some = await dav('PROPFIND', 'docs/hello.txt', {
      headers: { depth: '0', 'content-type': 'application/xml' },
      body: '<propfind xmlns="DAV:" xmlns:x="urn:x"><prop><getcontentlength/><x:nothing/></prop></propfind>',
    })
    assert.match(some.text, /<D:getcontentlength>17<\/D:getcontentlength>/)
    assert.match(some.text, /<nothing xmlns="urn:x"\/><\/D:prop><D:status>HTTP\/1.1 404/)

    const quota = await dav('PROPFIND', '', {
      headers: { depth: '0' },
      body: '<propfind xmlns="DAV:"><prop><quota-available-bytes/><quota-used-bytes/></prop></propfind>',
    })
    assert.match(quota.text, /<D:quota-available-bytes>[1-9][0-9]*<\/D:quota-available-bytes>/)

    const infinite = await dav('PROPFIND', 'docs/', { headers: { depth: 'infinity' } })
    assert.equal(infinite.status, 403)
    assert.match(infinite.text, /propfind-finite-depth/)
    assert.equal((await dav('PROPFIND', 'nowhere/', { headers: { depth: '0' } })).status, 404)
  })

  test('PROPPATCH keeps dead properties per name, all or nothing; live ones are refused', async () => {
    const set = await dav('PROPPATCH', 'docs/hello.txt', {
      headers: { 'content-type': 'application/xml' },
      body: '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>blue &amp; <Z:b>bold</Z:b></Z:color></D:prop></D:set></D:propertyupdate>',
    })
    assert.equal(set.status, 207)
    assert.match(set.text, /HTTP\/1.1 200/)
    const read = await dav('PROPFIND', 'docs/hello.txt', {
      headers: { depth: '0' },
      body: '<propfind xmlns="DAV:"><prop><color xmlns="urn:z"/></prop></propfind>',
    })
    assert.match(read.text, /<color xmlns="urn:z">blue &amp; <b>bold<\/b><\/color>/)

    const live = await dav('PROPPATCH', 'docs/hello.txt', {
      body: '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><D:getetag>x</D:getetag><Z:size>9</Z:size></D:prop></D:set></D:propertyupdate>',
    })
    assert.equal(live.status, 207)
    assert.match(live.text, /<D:getetag\/><\/D:prop><D:status>HTTP\/1.1 403/)
    assert.match(live.text, /<size xmlns="urn:z"\/><\/D:prop><D:status>HTTP\/1.1 424/)
    const after = await dav('PROPFIND', 'docs/hello.txt', {
      headers: { depth: '0' },
      body: '<propfind xmlns="DAV:"><prop><size xmlns="urn:z"/></prop></propfind>',
    })
    assert.match(after.text, /HTTP\/1.1 404/, 'nothing of a refused PROPPATCH was kept')
  })

  test('COPY and MOVE: Overwrite F refuses with 412, a folder moves name by name, the source goes', async () => {
    await client.putFileContents('docs/sub/deep.txt', 'deep')
    const refused = await dav('COPY', 'docs/hello.txt', {
      headers: { destination: `${cluster.proxy}/dav/docs/from-cli.txt`, overwrite: 'F' },
    })
    assert.equal(refused.status, 412)
    await client.copyFile('docs/hello.txt', 'docs/copy.txt')
    assert.equal(await client.getFileContents('docs/copy.txt', { format: 'text' }), 'hello from webdav')
    assert.equal(await client.getFileContents('docs/hello.txt', { format: 'text' }), 'hello from webdav')

    await client.moveFile('docs', 'archive')
    assert.equal(await client.exists('docs/hello.txt'), false)
    assert.equal(await client.exists('docs'), false)
    const ls = await cluster.run(['ls', 'archive/', '--json'])
    const names = (JSON.parse(ls.stdout.toString()) as { name: string }[]).map((f) => f.name).sort()
    assert.deepEqual(names, [
      'archive/copy.txt',
      'archive/from-cli.txt',
      'archive/hello.txt',
      'archive/sub/deep.txt',
    ])
    // Dead properties moved with their name.
    const moved = await dav('PROPFIND', 'archive/hello.txt', {
      headers: { depth: '0' },
      body: '<propfind xmlns="DAV:"><prop><color xmlns="urn:z"/></prop></propfind>',
    })
    assert.match(moved.text, /<color xmlns="urn:z">/)
    const foreign = await dav('MOVE', 'archive/copy.txt', {
      headers: { destination: 'https://elsewhere.example/dav/x' },
    })
    assert.equal(foreign.status, 502)
  })

  test('MKCOL and PUT: 405 where something exists, 409 where the folder above does not', async () => {
    assert.equal((await dav('MKCOL', 'archive')).status, 405)
    assert.equal((await dav('MKCOL', 'no/such/parent')).status, 409)
    assert.equal((await dav('PUT', 'no/such/file.txt', { body: 'x' })).status, 409)
    assert.equal((await dav('PUT', 'archive/', { body: 'x' })).status, 405)
  })

  test('a WebDAV lock is the dfs write lease: dfs write waits and fails, a PUT without the token gets 423', async () => {
    const { token } = await client.lock('archive/hello.txt', { timeout: 'Second-60' })
    assert.match(token, /^urn:dfs:lock:/)
    const write = await cluster.run(['write', 'archive/hello.txt', '--wait', '1s'], { input: 'cli' })
    assert.notEqual(write.code, 0)
    assert.match(write.stderr.toString(), /DFS_LOCKED/)
    assert.equal((await dav('PUT', 'archive/hello.txt', { body: 'no token' })).status, 423)
    const withToken = await dav('PUT', 'archive/hello.txt', {
      headers: { if: `(<${token}>)` },
      body: 'with token',
    })
    assert.equal(withToken.status, 204)
    const discovery = await dav('PROPFIND', 'archive/hello.txt', {
      headers: { depth: '0' },
      body: '<propfind xmlns="DAV:"><prop><lockdiscovery/></prop></propfind>',
    })
    assert.ok(discovery.text.includes(token), 'its holder sees the lock token in lockdiscovery')
    const bob = await dav('PROPFIND', 'archive/hello.txt', {
      headers: { depth: '0', authorization: basic('bob', 'bob-password') },
      body: '<propfind xmlns="DAV:"><prop><lockdiscovery/></prop></propfind>',
    })
    assert.match(bob.text, /<D:activelock>/)
    assert.ok(!bob.text.includes(token), 'others see the lock, not its token')
    await client.unlock('archive/hello.txt', `<${token}>`)
    const after = await cluster.run(['write', 'archive/hello.txt', '--wait', '1s'], { input: 'cli again' })
    assert.equal(after.code, 0, after.stderr.toString())
    assert.equal(await client.getFileContents('archive/hello.txt', { format: 'text' }), 'cli again')
  })

  test('dfs lock makes a WebDAV PUT answer 423; LOCK on a new name makes it, empty, locked', async () => {
    const held = spawnLock('archive/copy.txt')
    await held.locked
    assert.equal((await dav('PUT', 'archive/copy.txt', { body: 'x' })).status, 423)
    assert.equal((await dav('LOCK', 'archive/copy.txt', { body: LOCKINFO })).status, 423)
    held.release()
    assert.equal(await held.exit, 0)

    const made = await dav('LOCK', 'archive/new.txt', { body: LOCKINFO, headers: { timeout: 'Infinite' } })
    assert.equal(made.status, 201)
    assert.match(made.text, /<D:timeout>Second-600<\/D:timeout>/, 'the lease bound caps an Infinite lock')
    const stat = await cluster.stat('archive/new.txt')
    assert.equal(stat.size, 0)
    assert.equal(stat.lock?.user, 'tester')
    const token = /<(.+)>/.exec(String(made.headers['lock-token']))![1]!
    assert.equal(
      (await dav('UNLOCK', 'archive/new.txt', { headers: { 'lock-token': `<${token}>` } })).status,
      204,
    )
    assert.equal(
      (await dav('UNLOCK', 'archive/new.txt', { headers: { 'lock-token': `<${token}>` } })).status,
      409,
    )
  })

  test('permissions hold: another user cannot replace or delete a file that is not theirs', async () => {
    await cluster.run(['chmod', '600', 'archive/copy.txt'])
    const bob = { authorization: basic('bob', 'bob-password') }
    assert.equal((await dav('GET', 'archive/copy.txt', { headers: bob })).status, 403)
    assert.equal((await dav('DELETE', 'archive/copy.txt', { headers: bob })).status, 403)
    assert.equal((await dav('GET', 'archive/copy.txt')).status, 200)
  })

  test('GET takes Range and answers the ETag; a bad URL or XML gets 400, not a crash', async () => {
    const ranged = await dav('GET', 'archive/sub/deep.txt', { headers: { range: 'bytes=1-2' } })
    assert.equal(ranged.status, 206)
    assert.equal(ranged.text, 'ee')
    assert.match(String(ranged.headers.etag), /^"[0-9a-f]{64}"$/)
    const notModified = await dav('GET', 'archive/sub/deep.txt', {
      headers: { 'if-none-match': String(ranged.headers.etag) },
    })
    assert.equal(notModified.status, 304)
    assert.equal((await dav('GET', 'archive/%ff')).status, 400)
    // Sent byte for byte: HTTP clients resolve %2e%2e themselves before sending.
    assert.match(await rawStatusLine('GET /dav/archive/%2e%2e/%2e%2e/etc/passwd HTTP/1.1'), / 400 /)
    assert.match(await rawStatusLine('GET /dav/archive/..%2f..%2fetc HTTP/1.1'), / 400 /)
    const bomb = await dav('PROPFIND', '', {
      headers: { depth: '0' },
      body: '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><propfind xmlns="DAV:"><prop>&b;</prop></propfind>',
    })
    assert.equal(bomb.status, 400)
    assert.equal(
      (await dav('PROPFIND', '', { headers: { depth: '0' }, body: '<propfind><prop>' })).status,
      400,
    )
  })

  test('DELETE of a folder removes every name below it', async () => {
    await client.deleteFile('archive')
    const ls = await cluster.run(['ls', 'archive/', '--json'])
    assert.deepEqual(JSON.parse(ls.stdout.toString()), [])
    assert.equal(await client.exists('archive'), false)
  })

  /** The status line the proxy answers a request line sent exactly as given. */
  const rawStatusLine = (line: string) =>
    new Promise<string>((resolve, reject) => {
      const url = new URL(cluster.proxy)
      const socket = connect(
        { host: url.hostname, port: Number(url.port), ca, servername: 'localhost' },
        () => {
          socket.end(`${line}\r\nHost: ${url.host}\r\nAuthorization: ${tester}\r\nConnection: close\r\n\r\n`)
        },
      )
      let answer = ''
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()))
      socket.on('end', () => resolve(answer.split('\r\n')[0] ?? ''))
      socket.on('error', reject)
    })

  const LOCKINFO =
    '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>'

  /** `dfs lock NAME -- sh -c 'echo locked; read x'`: holds the lock until released. */
  const spawnLock = (name: string) => {
    const child = spawn(process.execPath, [BIN, 'lock', name, '--', 'sh', '-c', 'echo locked; read x'], {
      env: {
        ...process.env,
        DFS_PROXY: cluster.proxy,
        DFS_DATA: cluster.data,
        DFS_CONFIG_DIR: `${cluster.root}/cli-config`,
        DFS_USER: 'tester',
        DFS_PASSWORD: 'test-password',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const locked = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
    const exit = new Promise<number | null>((resolve) => child.once('close', resolve))
    return { locked, exit, release: () => child.stdin.end('\n') }
  }
})
