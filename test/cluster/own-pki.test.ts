// Bring your own PKI: a CA and node certificates made with openssl by the recipe in certs/README.md,
// given to every role with --ca-cert/--cert/--key; no joining, no dfs-made CA. A certificate that
// names another node is refused at start.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startChild, stopChild, type Child } from '../../src/cli/children.ts'
import { makeCa } from '../../src/tls/ca.ts'
import { nodeInvocation, runCli } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'

// The recipe of certs/README.md, as an operator would type it.
const RECIPE = `
set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=my dfs CA" \\
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
node_cert() {
  openssl req -new -newkey rsa:2048 -nodes -keyout $1-$2.key -subj "/CN=dfs $1 $2" -out $1-$2.csr 2>/dev/null
  printf 'subjectAltName=URI:urn:dfs:%s:%s,%s\\nextendedKeyUsage=serverAuth,clientAuth\\n' $1 $2 "$3" > $1-$2.ext
  openssl x509 -req -in $1-$2.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile $1-$2.ext \\
    -out $1-$2.crt 2>/dev/null
}
node_cert directory 0 DNS:localhost,IP:127.0.0.1
node_cert fileserver 1 DNS:localhost,IP:127.0.0.1
node_cert fileserver 2 DNS:localhost,IP:127.0.0.1
node_cert proxy 1 DNS:localhost,IP:127.0.0.1
`

describe('bring your own PKI', () => {
  let root: string
  const children: Child[] = []
  const pki = (name: string) => [
    '--ca-cert',
    join(root, 'ca.crt'),
    '--cert',
    join(root, `${name}.crt`),
    '--key',
    join(root, `${name}.key`),
  ]
  const start = async (name: string, args: string[]) => {
    const child = await startChild({
      name,
      args: [...args, '--data', join(root, name)],
      invocation: nodeInvocation,
      env: { ...process.env, DFS_LOG: 'warn' },
      log: join(root, `${name}.log`),
    })
    children.push(child)
    return child
  }
  const env = () => ({
    DFS_CONFIG_DIR: join(root, 'cli'),
    DFS_DATA: join(root, 'cli-data'),
    DFS_USER: 'alice',
    DFS_PASSWORD: 'alice-password',
  })

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dfs-pki-'))
    execFileSync('sh', ['-c', RECIPE], { cwd: root })
  })
  after(async () => {
    await Promise.all(children.map((c) => stopChild(c, 3000)))
    await rm(root, { recursive: true, force: true })
  })

  test('every role runs on the operator’s certificates; nothing of dfs’s own CA is made', async () => {
    const directory = await start('directory-0', [
      'directory',
      '--port',
      '0',
      '--repair-every',
      '1h',
      ...pki('directory-0'),
    ])
    const member = (role: string, id: number) =>
      start(`${role}-${id}`, [
        role,
        '--id',
        String(id),
        '--port',
        '0',
        '--directory',
        directory.url,
        ...pki(`${role}-${id}`),
        ...(role === 'fileserver' ? ['--heartbeat', '1'] : []),
      ])
    await Promise.all([member('fileserver', 1), member('fileserver', 2)])
    const proxy = await member('proxy', 1)
    await assert.rejects(readFile(join(root, 'directory-0', 'ca', 'ca.key')), 'no dfs CA key is made')

    const fingerprint = new X509Certificate(await readFile(join(root, 'ca.crt'))).fingerprint256
    const login = await runCli(
      nodeInvocation,
      ['login', '--proxy', proxy.url, '--ca-fingerprint', fingerprint],
      { env: env() },
    )
    assert.equal(login.code, 0, login.stderr)
    await eventually('both file servers live', async () => {
      const status = await runCli(nodeInvocation, ['status', '--json'], { env: env() })
      return (
        status.code === 0 &&
        (JSON.parse(status.stdout.toString()) as { servers: { live: boolean }[] }).servers.filter(
          (s) => s.live,
        ).length === 2
      )
    })
    const put = await runCli(nodeInvocation, ['put', '-', 'own/pki.txt', '--json'], {
      input: 'own certificates\n',
      env: env(),
    })
    assert.equal(put.code, 0, put.stderr)
    assert.deepEqual((JSON.parse(put.stdout.toString()) as { holders: number[] }).holders.toSorted(), [1, 2])
    const get = await runCli(nodeInvocation, ['get', 'own/pki.txt', '-'], { env: env() })
    assert.equal(get.stdout.toString(), 'own certificates\n')

    // A client that trusts another CA than the one the proxy presents is refused loudly, not retried.
    await writeFile(join(root, 'other-ca.crt'), makeCa().cert)
    const stranger = await runCli(nodeInvocation, ['ls'], {
      env: { ...env(), DFS_CA: join(root, 'other-ca.crt') },
    })
    assert.equal(stranger.code, 1)
    assert.match(
      stranger.stderr,
      /^dfs: DFS_CA_MISMATCH: proxy .* presents a certificate the cluster CA you trust did not sign/,
    )

    // Without --ca-key the directory signs nothing: joining is refused with the reason.
    const token = await runCli(nodeInvocation, ['token', 'create', '--role', 'fileserver'], { env: env() })
    assert.equal(token.code, 0, token.stderr)
    const join3 = await runCli(nodeInvocation, [
      'fileserver',
      '--id',
      '3',
      '--port',
      '0',
      '--directory',
      directory.url,
      '--join',
      token.stdout.toString().trim(),
      '--data',
      join(root, 'fs3'),
    ])
    assert.equal(join3.code, 1)
    assert.match(join3.stderr, /DFS_FORBIDDEN: this directory runs on certificates of its own PKI/)
  })

  test('a certificate that names another node is refused at start', async () => {
    const wrong = await runCli(nodeInvocation, [
      'fileserver',
      '--id',
      '1',
      '--port',
      '0',
      '--directory',
      'https://127.0.0.1:1',
      ...pki('fileserver-2'),
      '--data',
      join(root, 'wrong'),
    ])
    assert.equal(wrong.code, 2)
    assert.match(
      wrong.stderr,
      /^dfs: DFS_USAGE: --cert .* names fileserver 2, not fileserver 1: it needs subjectAltName URI:urn:dfs:fileserver:1/,
    )
  })
})
