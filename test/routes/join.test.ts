// Joining and authorisation at the directory, through app.inject(): a join token lets a node in as
// exactly its role and id, every bad token is refused with its reason, and every route takes only
// the roles that call it in a cluster (file server N speaks only for N).

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { JoinService } from '../../src/roles/directory/join-service.ts'
import { makeCsr, type CaPair } from '../../src/tls/ca.ts'
import { identityOf } from '../../src/tls/identity.ts'
import { formatJoinToken, newJoinToken, parseJoinToken } from '../../src/tls/join-token.ts'
import { testDirectory, type TestDirectory } from '../helpers/directory-app.ts'
import { as } from '../helpers/node-identity.ts'

describe('joining the cluster, and who may call what', () => {
  let directory: TestDirectory
  let app: FastifyInstance
  let joining: JoinService
  let ca: CaPair
  let now = 1_000_000

  before(async () => {
    directory = await testDirectory({ now: () => now })
    ;({ app, joining, ca } = directory)
  })
  after(async () => {
    await directory.close()
  })

  const joinAs = (token: string, role: string, id: number, csr = makeCsr({ role: 'fileserver', id }).csr) =>
    app.inject({
      method: 'POST',
      url: '/v1/join',
      headers: { 'x-test-node': 'none' },
      payload: { token, role, id, csr, hosts: ['fs.example', '10.0.0.7'] },
    })
  const refusal = async (response: Promise<{ json(): { error: { code: string; message: string } } }>) =>
    (await response).json().error

  test('a token lets a node in as exactly the role and id it asked for', async () => {
    const { token } = await joining.create({ role: 'fileserver', ttlMs: 60_000, uses: 2, createdBy: 'test' })
    const response = await joinAs(token, 'fileserver', 7)
    assert.equal(response.statusCode, 200, response.body)
    const { cert, ca: caPem } = response.json() as { cert: string; ca: string }
    assert.equal(caPem, ca.cert)
    const x509 = new X509Certificate(cert)
    assert.ok(x509.verify(new X509Certificate(ca.cert).publicKey), 'signed by the cluster CA')
    assert.deepEqual(identityOf({ subjectaltname: x509.subjectAltName ?? '' }), { role: 'fileserver', id: 7 })
    assert.match(x509.subjectAltName ?? '', /DNS:fs\.example/)
    assert.match(x509.subjectAltName ?? '', /IP Address:10\.0\.0\.7/)
  })

  test('bad tokens are refused, each with its reason', async () => {
    const good = await joining.create({ role: 'fileserver', ttlMs: 60_000, uses: 1, createdBy: 'test' })
    const parsed = parseJoinToken(good.token)
    const wrongSecret = formatJoinToken({ ...parsed, secret: newJoinToken(parsed.fingerprint).secret })
    assert.deepEqual(await refusal(joinAs(wrongSecret, 'fileserver', 8)), {
      code: 'DFS_AUTH',
      message: 'not a valid join token for this cluster',
    })
    const otherCluster = formatJoinToken({ ...parsed, fingerprint: 'ab'.repeat(32) })
    assert.match((await refusal(joinAs(otherCluster, 'fileserver', 8))).message, /another cluster/)
    assert.equal((await refusal(joinAs('hello', 'fileserver', 8))).code, 'DFS_AUTH')
    assert.match((await refusal(joinAs(good.token, 'proxy', 8))).message, /for a fileserver, not a proxy/)

    assert.equal((await joinAs(good.token, 'fileserver', 8)).statusCode, 200)
    assert.match((await refusal(joinAs(good.token, 'fileserver', 9))).message, /no uses left/)

    const revoked = await joining.create({ role: 'any', ttlMs: 60_000, createdBy: 'test' })
    await joining.revoke(revoked.view.id)
    assert.match((await refusal(joinAs(revoked.token, 'proxy', 3))).message, /revoked/)

    const short = await joining.create({ role: 'any', ttlMs: 1000, createdBy: 'test' })
    now += 1001
    assert.match((await refusal(joinAs(short.token, 'proxy', 3))).message, /expired/)
  })

  test('a remote token cannot take over a node that has a certificate; a bad request is refused', async () => {
    const { token } = await joining.create({ role: 'any', ttlMs: 0, createdBy: 'test' })
    const taken = await refusal(joinAs(token, 'fileserver', 7))
    assert.equal(taken.code, 'DFS_CONFLICT')
    assert.match(taken.message, /fileserver 7 already has a certificate/)
    const garbage = await refusal(joinAs(token, 'proxy', 4, '-----BEGIN CERTIFICATE REQUEST-----\nnope'))
    assert.equal(garbage.code, 'DFS_BAD_REQUEST')
    const directoryRole = await joinAs(token, 'directory', 0)
    assert.equal(directoryRole.statusCode, 400, 'nobody joins as the directory')
  })

  test('routes take only the roles that call them; file server N speaks only for N', async () => {
    const heartbeat = (headers: Record<string, string>, id = 3) =>
      app.inject({
        method: 'POST',
        url: '/v1/servers/heartbeat',
        headers,
        payload: { id, url: 'https://127.0.0.1:6030', freeBytes: 1e15 },
      })
    assert.equal((await heartbeat(as('fileserver', 3))).statusCode, 200)
    const impostor = await heartbeat(as('fileserver', 2))
    assert.equal(impostor.statusCode, 403)
    assert.match(impostor.json().error.message, /fileserver 2 may not speak for fileserver 3/)
    assert.equal((await heartbeat(as('proxy', 1))).json().error.code, 'DFS_FORBIDDEN')
    assert.equal((await heartbeat({ 'x-test-node': 'none' })).json().error.code, 'DFS_AUTH')

    const made = {
      name: 'x',
      expectedVersion: 0,
      sha256: 'c'.repeat(64),
      size: 1,
      primary: 3,
      holders: [3],
      writer: 'm',
    }
    const commit = await app.inject({
      method: 'POST',
      url: '/v1/commits',
      headers: as('fileserver', 2),
      payload: made,
    })
    assert.equal(commit.json().error.code, 'DFS_FORBIDDEN', 'a file server commits only as primary itself')
    const proxyCommit = await app.inject({ method: 'POST', url: '/v1/commits', payload: made })
    assert.equal(proxyCommit.json().error.code, 'DFS_FORBIDDEN', 'a proxy cannot commit a made-up hash')
    const place = await app.inject({
      method: 'POST',
      url: '/v1/placements',
      headers: as('fileserver', 3),
      payload: { name: 'x', size: 1 },
    })
    assert.equal(place.json().error.code, 'DFS_FORBIDDEN', 'a file server is no proxy')
    const login = await app.inject({
      method: 'POST',
      url: '/v1/login',
      headers: as('fileserver', 3),
      payload: { user: 'x', password: 'y-password' },
    })
    assert.equal(login.json().error.code, 'DFS_FORBIDDEN')
  })

  test('tokens are managed through a proxy by the admin (the first user) only', async () => {
    const session = async (user: string) => {
      const login = await app.inject({
        method: 'POST',
        url: '/v1/login',
        payload: { user, password: `${user}-password` },
      })
      return { 'dfs-session': (login.json() as { token: string }).token }
    }
    const root = await session('root')
    const bob = await session('bob')
    const byBob = await app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bob,
      payload: { role: 'proxy', ttlMs: 60_000 },
    })
    assert.equal(byBob.json().error.code, 'DFS_FORBIDDEN')
    const claimed = await app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bob,
      payload: { user: 'root', role: 'proxy', ttlMs: 60_000 },
    })
    assert.equal(claimed.json().error.code, 'DFS_FORBIDDEN', 'naming the admin in the body does not help')
    const anonymous = await app.inject({ method: 'GET', url: '/v1/tokens' })
    assert.equal(anonymous.json().error.code, 'DFS_AUTH', 'a call for a user needs their session')
    const byRoot = await app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: root,
      payload: { role: 'proxy', ttlMs: 60_000, uses: 1 },
    })
    assert.equal(byRoot.statusCode, 200, byRoot.body)
    const { token, view } = byRoot.json() as { token: string; view: { id: string } }
    assert.equal(parseJoinToken(token).id, view.id)
    const list = (await app.inject({ url: '/v1/tokens', headers: root })).json() as {
      id: string
      secretHash?: string
    }[]
    assert.ok(list.some((t) => t.id === view.id))
    assert.ok(
      list.every((t) => t.secretHash === undefined),
      'secrets never leave the directory',
    )
    const revoke = await app.inject({
      method: 'POST',
      url: '/v1/tokens/revoke',
      headers: root,
      payload: { id: view.id },
    })
    assert.equal(revoke.statusCode, 200)
    assert.match((await refusal(joinAs(token, 'proxy', 9))).message, /revoked/)
  })
})
