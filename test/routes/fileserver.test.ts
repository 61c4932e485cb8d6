// The file server's routes through app.inject(): replica writes, blob reads whole or by range,
// validation; and a block read by range over real mutual TLS, as a reader fails over with it.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { makeAgent } from '../../src/client/agent.ts'
import { DirectoryClient } from '../../src/client/directory-client.ts'
import { getStream } from '../../src/client/streams.ts'
import { BLOCK_SIZE, blockDigests, blockSpan } from '../../src/protocol/blocks.ts'
import { as, identifyByHeader } from '../helpers/node-identity.ts'
import { buildFileServerApp } from '../../src/roles/fileserver/app.ts'
import { FileServerService } from '../../src/roles/fileserver/service.ts'
import type { CommitRequest, CommittedVersion } from '../../src/protocol/types.ts'
import { listen } from '../../src/server/app.ts'
import type { BlobStore } from '../../src/storage/blob-store.ts'
import { DiskBlobStore } from '../../src/storage/disk-blob-store.ts'
import { issueNodeCert, makeCa } from '../../src/tls/ca.ts'
import { sha256 } from '../helpers/files.ts'

/** Bytes that differ at every offset, so a range off by one shows. */
function counting(size: number): Buffer {
  const data = Buffer.alloc(size)
  for (let at = 0; at < size; at++) data[at] = (at + (at >> 8)) & 0xff
  return data
}

async function stored(store: BlobStore, data: Buffer) {
  const writer = await store.createWriter()
  for (let at = 0; at < data.length; at += 1024 * 1024)
    await writer.write(data.subarray(at, at + 1024 * 1024))
  return writer.commit()
}

const quietLog = { warn: () => undefined }

describe('file server routes', () => {
  let dir: string
  let app: FastifyInstance
  const agent = makeAgent({ ca: '' })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-fs-'))
    const store = new DiskBlobStore(dir)
    await store.open()
    // No directory is needed for replica writes and reads; this one points nowhere.
    const service = new FileServerService(
      7,
      store,
      new DirectoryClient('https://127.0.0.1:9', agent),
      agent,
      { warn: () => undefined },
      join(dir, 'inventory'),
    )
    // The calls here are a primary's replica writes and reads: another file server's.
    app = buildFileServerApp(service, { identify: identifyByHeader({ role: 'fileserver', id: 1 }) })
    await app.ready()
  })
  after(async () => {
    await app.close()
    await agent.close()
    await rm(dir, { recursive: true, force: true })
  })

  const octet = { 'content-type': 'application/octet-stream' }

  test('a replica write stores the blob under its sha256 and reads back', async () => {
    const data = Buffer.from('replicated bytes\n'.repeat(1000))
    const put = await app.inject({ method: 'PUT', url: '/v1/replica', headers: octet, payload: data })
    assert.equal(put.statusCode, 200, put.body)
    assert.deepEqual(put.json(), { sha256: sha256(data), size: data.length })
    assert.ok(existsSync(join(dir, 'objects', sha256(data).slice(0, 2), sha256(data))))
    assert.deepEqual(await readdir(join(dir, 'tmp')), [])

    const get = await app.inject(`/v1/blobs/${sha256(data)}`)
    assert.equal(get.statusCode, 200)
    assert.equal(get.headers.etag, `"${sha256(data)}"`)
    assert.equal(Number(get.headers['content-length']), data.length)
    assert.ok(get.rawPayload.equals(data))

    const cached = await app.inject({
      url: `/v1/blobs/${sha256(data)}`,
      headers: { 'if-none-match': `"${sha256(data)}"` },
    })
    assert.equal(cached.statusCode, 304)
  })

  test('one range of bytes is served as 206 with its content-range: a-b, a- and the last n', async () => {
    const data = counting(10_000)
    const blob = `/v1/blobs/${sha256(data)}`
    const put = await app.inject({ method: 'PUT', url: '/v1/replica', headers: octet, payload: data })
    assert.equal(put.statusCode, 200, put.body)
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=9990-', 9990, 9999],
      ['bytes=-10', 9990, 9999],
      ['bytes=9000-20000', 9000, 9999],
      ['bytes=-20000', 0, 9999],
      ['bytes=4321-4321', 4321, 4321],
      ['BYTES=0-0', 0, 0],
    ]
    for (const [range, start, end] of cases) {
      const response = await app.inject({ url: blob, headers: { range } })
      assert.equal(response.statusCode, 206, range)
      assert.equal(response.headers['content-range'], `bytes ${start}-${end}/10000`, range)
      assert.equal(Number(response.headers['content-length']), end - start + 1, range)
      assert.ok(response.rawPayload.equals(data.subarray(start, end + 1)), `${range}: the bytes`)
      assert.equal(response.headers.etag, `"${sha256(data)}"`)
    }
    // If-Range with this blob's etag keeps the range; with another's, the whole blob comes.
    const same = await app.inject({
      url: blob,
      headers: { range: 'bytes=0-9', 'if-range': `"${sha256(data)}"` },
    })
    assert.equal(same.statusCode, 206)
    const other = await app.inject({ url: blob, headers: { range: 'bytes=0-9', 'if-range': '"other"' } })
    assert.equal(other.statusCode, 200)
    assert.ok(other.rawPayload.equals(data))
  })

  test('a blob of several buffers reads back whole and by a range across them', async () => {
    const data = counting(9 * 1024 * 1024 + 77)
    const store = new DiskBlobStore(dir)
    const { sha256: hash } = await stored(store, data)
    const whole = await app.inject(`/v1/blobs/${hash}`)
    assert.equal(whole.statusCode, 200)
    assert.ok(whole.rawPayload.equals(data))
    const start = 4 * 1024 * 1024 - 5
    const end = 8 * 1024 * 1024 + 5
    const part = await app.inject({ url: `/v1/blobs/${hash}`, headers: { range: `bytes=${start}-${end}` } })
    assert.equal(part.statusCode, 206)
    assert.ok(part.rawPayload.equals(data.subarray(start, end + 1)))
  })

  test('a range at or past the end is 416 DFS_BAD_RANGE with bytes */size; a malformed or multiple range is ignored', async () => {
    const data = counting(5000)
    const blob = `/v1/blobs/${sha256(data)}`
    await app.inject({ method: 'PUT', url: '/v1/replica', headers: octet, payload: data })
    for (const range of ['bytes=5000-', 'bytes=5000-6000', 'bytes=99999999999999999999-', 'bytes=-0']) {
      const response = await app.inject({ url: blob, headers: { range } })
      assert.equal(response.statusCode, 416, range)
      assert.equal(response.headers['content-range'], 'bytes */5000', range)
      assert.equal(response.json().error.code, 'DFS_BAD_RANGE', range)
    }
    const ignored = [
      'bytes=0-1,5-6',
      'bytes=abc',
      'bytes=5-3',
      'bytes=-',
      'bytes=1.5-2',
      'items=0-1',
      '0-1',
      'bytes=0-1 junk',
    ]
    for (const range of ignored) {
      const response = await app.inject({ url: blob, headers: { range } })
      assert.equal(response.statusCode, 200, range)
      assert.equal(response.headers['content-range'], undefined, range)
      assert.equal(Number(response.headers['content-length']), data.length, range)
      assert.ok(response.rawPayload.equals(data), `${range}: the whole blob`)
      assert.equal(response.headers['accept-ranges'], 'bytes')
    }
    // An empty blob has no byte to start at; its "last n bytes" are all of it, none.
    const empty = await app.inject({
      method: 'PUT',
      url: '/v1/replica',
      headers: octet,
      payload: Buffer.alloc(0),
    })
    const none = `/v1/blobs/${sha256('')}`
    assert.equal(empty.statusCode, 200, empty.body)
    assert.equal((await app.inject({ url: none, headers: { range: 'bytes=0-' } })).statusCode, 416)
    const suffix = await app.inject({ url: none, headers: { range: 'bytes=-5' } })
    assert.deepEqual([suffix.statusCode, suffix.headers['content-length']], [200, '0'])
  })

  test('a replica answers with its hash and size, not the block list (the primary has its own)', async () => {
    const data = counting(BLOCK_SIZE + 10)
    const put = await app.inject({ method: 'PUT', url: '/v1/replica', headers: octet, payload: data })
    assert.equal(put.statusCode, 200, put.body)
    assert.deepEqual(put.json(), { sha256: sha256(data), size: data.length })
  })

  test('a body shorter than its declared length is refused and leaves nothing behind', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/replica?length=100',
      headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      payload: Buffer.from('only ten b'),
    })
    assert.equal(put.statusCode, 400)
    assert.equal(put.json().error.code, 'DFS_BAD_REQUEST')
    assert.deepEqual(await readdir(join(dir, 'tmp')), [])
  })

  test('unknown and malformed blob names are refused', async () => {
    const missing = await app.inject(`/v1/blobs/${'0'.repeat(64)}`)
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.json().error.code, 'DFS_NOT_FOUND')
    for (const bad of ['../../etc/passwd', 'ABC', `${'a'.repeat(63)}/`]) {
      const response = await app.inject(`/v1/blobs/${encodeURIComponent(bad)}`)
      assert.ok([400, 404].includes(response.statusCode), bad)
      assert.ok(['DFS_BAD_REQUEST', 'DFS_NOT_FOUND'].includes(response.json().error.code), bad)
    }
  })

  test('a primary write with a bad name or bad replica list is refused before storing', async () => {
    const fromProxy = { ...octet, ...as('proxy', 1) }
    const badName = await app.inject({
      method: 'PUT',
      url: `/v1/blobs?name=${encodeURIComponent('../x')}&expectedVersion=0&writer=a`,
      headers: fromProxy,
      payload: Buffer.from('x'),
    })
    assert.equal(badName.json().error.code, 'DFS_BAD_NAME')
    const badReplicas = await app.inject({
      method: 'PUT',
      url: `/v1/blobs?name=ok&expectedVersion=0&writer=a&replicas=${encodeURIComponent('[{"id":1,"url":"http://plain"}]')}`,
      headers: fromProxy,
      payload: Buffer.from('x'),
    })
    assert.equal(badReplicas.json().error.code, 'DFS_BAD_REQUEST')
  })

  test('each route takes only the roles that call it in a cluster, and only with a certificate', async () => {
    const put = (headers: Record<string, string>, url = '/v1/blobs?name=a&expectedVersion=0&writer=a') =>
      app.inject({ method: 'PUT', url, headers: { ...octet, ...headers }, payload: Buffer.from('x') })
    // A file server is no proxy: it cannot start a user's write.
    assert.equal((await put(as('fileserver', 2))).json().error.code, 'DFS_FORBIDDEN')
    // A proxy cannot write a replica, nor order a copy (only the directory may).
    assert.equal((await put(as('proxy', 1), '/v1/replica')).json().error.code, 'DFS_FORBIDDEN')
    const copy = await app.inject({
      method: 'POST',
      url: '/v1/copy',
      headers: as('proxy', 1),
      payload: { sha256: 'a'.repeat(64), target: { id: 2, url: 'https://127.0.0.1:1' } },
    })
    assert.equal(copy.json().error.code, 'DFS_FORBIDDEN')
    const anonymous = await app.inject({
      url: `/v1/blobs/${'a'.repeat(64)}`,
      headers: { 'x-test-node': 'none' },
    })
    assert.equal(anonymous.statusCode, 401)
    assert.equal(anonymous.json().error.code, 'DFS_AUTH')
  })
})

/** The directory as far as a primary speaks to it: the commits it was sent, each taken. */
class CommitsTaken extends DirectoryClient {
  readonly commits: CommitRequest[] = []

  override async commit(request: CommitRequest): Promise<CommittedVersion> {
    this.commits.push(request)
    const { name, sha256: sha, size, primary, holders, writer } = request
    return { name, version: 1, sha256: sha, size, primary, holders, writer, mtime: 0, wanted: 1 }
  }
}

describe('file server as primary', () => {
  let dir: string
  let app: FastifyInstance
  const agent = makeAgent({ ca: '' })
  const directory = new CommitsTaken('https://127.0.0.1:9', agent)

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-fs-primary-'))
    const store = new DiskBlobStore(dir)
    await store.open()
    const service = new FileServerService(7, store, directory, agent, quietLog, join(dir, 'inventory'))
    app = buildFileServerApp(service, { identify: identifyByHeader({ role: 'proxy', id: 1 }) })
    await app.ready()
  })
  after(async () => {
    await app.close()
    await agent.close()
    await rm(dir, { recursive: true, force: true })
  })

  test("commits a write with its blob's block list, and a file of one block without one", async () => {
    const put = (name: string, data: Buffer) =>
      app.inject({
        method: 'PUT',
        url: `/v1/blobs?name=${name}&expectedVersion=0&writer=alice`,
        headers: { 'content-type': 'application/octet-stream' },
        payload: data,
      })
    const big = counting(2 * BLOCK_SIZE + 3)
    assert.equal((await put('big.bin', big)).statusCode, 200)
    const small = counting(BLOCK_SIZE)
    assert.equal((await put('small.bin', small)).statusCode, 200)
    const [bigCommit, smallCommit] = directory.commits
    const expected = [0, 1, 2].map((i) => {
      const { start, end } = blockSpan(i, big.length)
      return createHash('sha256').update(big.subarray(start, end)).digest()
    })
    assert.deepEqual(
      [bigCommit?.name, bigCommit?.sha256, bigCommit?.size, bigCommit?.blocks],
      ['big.bin', sha256(big), big.length, Buffer.concat(expected).toString('base64')],
    )
    assert.deepEqual([smallCommit?.sha256, smallCommit?.size], [sha256(small), BLOCK_SIZE])
    assert.equal(smallCommit !== undefined && 'blocks' in smallCommit, false)
  })
})

describe('file server blob ranges over mutual TLS', () => {
  const ca = makeCa()
  const own = issueNodeCert(ca, { role: 'fileserver', id: 7 }, ['127.0.0.1'])
  const proxyCert = issueNodeCert(ca, { role: 'proxy', id: 1 })
  const agent = makeAgent({ ca: ca.cert, cert: proxyCert.cert, key: proxyCert.key })
  let dir: string
  let store: DiskBlobStore
  let app: FastifyInstance
  let url: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-fs-tls-'))
    store = new DiskBlobStore(dir)
    await store.open()
    const directory = new DirectoryClient('https://127.0.0.1:9', agent)
    const service = new FileServerService(7, store, directory, agent, quietLog, join(dir, 'inventory'))
    app = buildFileServerApp(service, { tls: { ...own, ca: ca.cert } })
    url = await listen(app, '127.0.0.1', 0)
  })
  after(async () => {
    await app.close()
    await agent.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('a reader fetches one block by its span and it matches its digest; past the end is DFS_BAD_RANGE', async () => {
    const data = counting(2 * BLOCK_SIZE + 100)
    const blob = await stored(store, data)
    const digests = blockDigests(blob)
    for (const index of [1, 2]) {
      const { start, end } = blockSpan(index, blob.size)
      const response = await getStream(
        agent,
        `${url}/v1/blobs/${blob.sha256}`,
        { range: `bytes=${start}-${end - 1}` },
        'file server 7',
      )
      assert.equal(response.statusCode, 206)
      assert.equal(response.headers['content-range'], `bytes ${start}-${end - 1}/${blob.size}`)
      const bytes = Buffer.concat(await response.body.toArray())
      assert.equal(bytes.length, end - start, `block ${index}: every byte, and no more`)
      assert.equal(sha256(bytes), digests[index]?.toString('hex'), `block ${index}`)
    }
    // The connection is reused after a ranged answer: its framing was right.
    const whole = await getStream(agent, `${url}/v1/blobs/${blob.sha256}`, {}, 'file server 7')
    assert.equal(whole.statusCode, 200)
    assert.equal(sha256(Buffer.concat(await whole.body.toArray())), blob.sha256)
    await assert.rejects(
      getStream(agent, `${url}/v1/blobs/${blob.sha256}`, { range: `bytes=${blob.size}-` }, 'file server 7'),
      { code: 'DFS_BAD_RANGE' },
    )
  })
})
