// The file server's routes through app.inject(): replica writes, blob reads, validation.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { makeAgent } from '../../src/client/agent.ts'
import { DirectoryClient } from '../../src/client/directory-client.ts'
import { as, identifyByHeader } from '../helpers/node-identity.ts'
import { buildFileServerApp } from '../../src/roles/fileserver/app.ts'
import { FileServerService } from '../../src/roles/fileserver/service.ts'
import { DiskBlobStore } from '../../src/storage/disk-blob-store.ts'
import { sha256 } from '../helpers/files.ts'

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
      {
        warn: () => undefined,
      },
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
