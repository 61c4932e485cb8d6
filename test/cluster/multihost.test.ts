// A real multi-host cluster: each role on its own "host", a Linux network namespace with its own
// address on a bridge (inside a namespace of the test's own), its own data root and HOME; nothing
// shared on disk but the program. Nodes join with tokens made by `dfs token create` on the
// directory's host, the client trusts the cluster by its CA fingerprint, and a file server host's
// death is repaired. Needs root (CI runs as root); elsewhere it skips with one line, never under CI.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate, randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startChild, stopChild, type Child } from '../../src/cli/children.ts'
import type { Located } from '../../src/protocol/types.ts'
import { BIN, runCli, type RunResult } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'

const isRoot = process.getuid?.() === 0
const hasIp = (() => {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
const skip = isRoot && hasIp ? false : 'needs root and iproute2 (ip netns): run as root, as CI does'
if (skip && process.env.CI) throw new Error(`the multi-host test cannot run under CI: ${skip}`)
if (skip) console.log(`# multi-host test skipped: ${skip}`)

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })

/** One "host": a network namespace with an address on the test's bridge, and a directory of its own. */
interface Host {
  name: string
  ns: string
  address: string
  home: string
}

class Network {
  readonly hosts = new Map<string, Host>()
  readonly root: string
  private readonly bridge: string
  private readonly prefix: string

  constructor(root: string) {
    this.root = root
    this.prefix = `dfs${randomBytes(3).toString('hex')}`
    this.bridge = `${this.prefix}-br`
    ip('netns', 'add', this.bridge)
    ip('-n', this.bridge, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', this.bridge, 'link', 'set', 'br0', 'up')
  }

  async add(name: string, octet: number): Promise<Host> {
    const ns = `${this.prefix}-${name}`
    const veth = `v${octet}`
    ip('netns', 'add', ns)
    ip('link', 'add', veth, 'netns', this.bridge, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    ip('-n', this.bridge, 'link', 'set', veth, 'master', 'br0', 'up')
    const address = `10.77.0.${octet}`
    ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
    ip('-n', ns, 'link', 'set', 'eth0', 'up')
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    const home = join(this.root, name)
    await mkdir(home, { recursive: true })
    const host = { name, ns, address, home }
    this.hosts.set(name, host)
    return host
  }

  remove(): void {
    for (const host of this.hosts.values()) ip('netns', 'del', host.ns)
    ip('netns', 'del', this.bridge)
  }
}

/** The program run inside a host's namespace, with that host's HOME and nothing else of ours. */
function on(host: Host) {
  return { command: 'ip', prefix: ['netns', 'exec', host.ns, process.execPath, BIN] }
}

function hostEnv(host: Host): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: host.home,
    DFS_LOG: 'warn',
    DFS_CONFIG_DIR: join(host.home, 'config'),
  }
}

describe('a cluster of hosts (network namespaces)', { skip }, () => {
  let net: Network
  const children: Child[] = []
  const data = (host: Host) => join(host.home, 'data')
  const directoryUrl = 'https://10.77.0.10:5050'
  let fingerprint = ''

  const start = async (host: Host, args: string[]): Promise<Child> => {
    const child = await startChild({
      name: `${host.name}`,
      args: [...args, '--data', data(host)],
      invocation: on(host),
      env: hostEnv(host),
      log: join(net.root, `${host.name}.log`),
    })
    children.push(child)
    return child
  }
  const run = (host: Host, args: string[], input?: string): Promise<RunResult> =>
    runCli(on(host), args, {
      input,
      env: { ...hostEnv(host), DFS_USER: 'alice', DFS_PASSWORD: 'alice-password' },
    })
  const host = (name: string) => net.hosts.get(name)!
  /** A file server or proxy on its host; `token` for its first start (later it has its certificate). */
  const member = (name: string, role: 'fileserver' | 'proxy', id: number, port: number, token?: string) =>
    start(host(name), [
      role,
      '--id',
      String(id),
      '--port',
      String(port),
      '--host',
      '0.0.0.0',
      '--advertise',
      host(name).address,
      '--directory',
      directoryUrl,
      ...(token ? ['--join', token] : []),
      ...(role === 'fileserver' ? ['--heartbeat', '1'] : []),
    ])
  const token = async (role: string, uses: number): Promise<string> => {
    const made = await run(host('dir'), [
      'token',
      'create',
      '--role',
      role,
      '--uses',
      String(uses),
      '--data',
      data(host('dir')),
    ])
    assert.equal(made.code, 0, made.stderr)
    return made.stdout.toString().trim()
  }

  before(async () => {
    net = new Network(await mkdtemp(join(tmpdir(), 'dfs-hosts-')))
    await net.add('dir', 10)
    for (const [name, octet] of [
      ['fs1', 11],
      ['fs2', 12],
      ['fs3', 13],
      ['p1', 20],
      ['p2', 21],
      ['client', 30],
    ] as const) {
      await net.add(name, octet)
    }
    await start(host('dir'), [
      'directory',
      '--port',
      '5050',
      '--host',
      '0.0.0.0',
      '--advertise',
      '10.77.0.10',
      '--dead-after',
      '4s',
      '--repair-every',
      '500ms',
    ])
    fingerprint = new X509Certificate(await readFile(join(data(host('dir')), 'ca', 'ca.crt'))).fingerprint256
  })
  after(async () => {
    await Promise.all(children.map((c) => stopChild(c, 3000)))
    net?.remove()
    if (net && !process.env.DFS_KEEP_TEST_DATA) await rm(net.root, { recursive: true, force: true })
  })

  test('bad joins are refused: a wrong token, and a directory whose CA is not the one the token pins', async () => {
    const good = await token('fileserver', 1)
    const [, , id] = good.split('.')
    const wrong = `dfs1.${good.split('.')[1]}.${id}.${randomBytes(32).toString('base64url')}`
    const joinWith = (joinToken: string) =>
      run(host('fs1'), [
        'fileserver',
        '--id',
        '9',
        '--port',
        '5060',
        '--directory',
        directoryUrl,
        '--join',
        joinToken,
        '--data',
        join(host('fs1').home, 'bad'),
      ])
    const refused = await joinWith(wrong)
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^dfs: DFS_AUTH: not a valid join token for this cluster/m)
    const mismatch = await joinWith(`dfs1.${'ab'.repeat(32)}.${id}.${good.split('.')[3]}`)
    assert.equal(mismatch.code, 1)
    assert.match(mismatch.stderr, /^dfs: DFS_CA_MISMATCH: /m)
  })

  test('file servers and proxies join with tokens; a client on its own host uses each proxy', async () => {
    const fsToken = await token('fileserver', 3)
    const proxyToken = await token('proxy', 2)
    await Promise.all([
      member('fs1', 'fileserver', 1, 5060, fsToken),
      member('fs2', 'fileserver', 2, 5070, fsToken),
      member('fs3', 'fileserver', 3, 5080, fsToken),
    ])
    await member('p1', 'proxy', 1, 5000, proxyToken)
    await member('p2', 'proxy', 2, 5010, proxyToken)
    // Used up: a fourth file server cannot join with the same token.
    const extra = await run(host('client'), [
      'fileserver',
      '--id',
      '4',
      '--port',
      '5090',
      '--directory',
      directoryUrl,
      '--join',
      fsToken,
    ])
    assert.match(extra.stderr, /DFS_AUTH: the join token has no uses left/)

    const client = host('client')
    const firstContact = await run(client, ['login', '--proxy', 'https://10.77.0.20:5000'])
    assert.equal(firstContact.code, 2, 'an unknown cluster is not trusted without being asked')
    assert.match(firstContact.stderr, /has not seen; its CA is SHA256 /)
    const login = await run(client, [
      'login',
      '--proxy',
      'https://10.77.0.20:5000',
      '--ca-fingerprint',
      `sha256 Fingerprint=${fingerprint}`,
    ])
    assert.equal(login.code, 0, login.stderr)
    await eventually('three live file servers', async () => {
      const status = await run(client, ['status', '--json'])
      return (
        status.code === 0 &&
        (JSON.parse(status.stdout.toString()) as { servers: { live: boolean }[] }).servers.filter(
          (s) => s.live,
        ).length === 3
      )
    })

    const body = 'written from the client host\n'
    for (const [i, proxy] of ['https://10.77.0.20:5000', 'https://10.77.0.21:5010'].entries()) {
      const put = await run(client, ['put', '-', `hosts/${i}.txt`, '--proxy', proxy], body)
      assert.equal(put.code, 0, put.stderr)
      const get = await run(client, ['get', `hosts/${1 - i}.txt`, '-', '--proxy', proxy])
      if (i === 1) assert.equal(get.stdout.toString(), body)
    }
    const editor = join(client.home, 'editor.sh')
    await writeFile(editor, '#!/bin/sh\necho "edited on another host" >> "$1"\n')
    await chmod(editor, 0o755)
    const edit = await runCli(on(client), ['edit', 'hosts/0.txt'], {
      env: { ...hostEnv(client), EDITOR: editor, VISUAL: '' },
    })
    assert.equal(edit.code, 0, edit.stderr)
    const edited = await run(client, ['get', 'hosts/0.txt', '-', '--proxy', 'https://10.77.0.21:5010'])
    assert.equal(edited.stdout.toString(), `${body}edited on another host\n`)
  })

  test("a file server host's death is repaired from the others", async () => {
    const client = host('client')
    const stat = async (name: string) =>
      JSON.parse((await run(client, ['stat', name, '--json'])).stdout.toString()) as Located
    const victim = (await stat('hosts/0.txt')).holders[0]!
    const child = children.find((c) => c.name === `fs${victim}`)!
    child.process.kill('SIGKILL')
    await child.exited
    await eventually(
      'every file to have two copies without the dead host',
      async () => {
        for (const name of ['hosts/0.txt', 'hosts/1.txt']) {
          const { holders } = await stat(name)
          if (holders.length !== 2 || holders.includes(victim)) return false
        }
        return true
      },
      45_000,
    )
    const get = await run(client, ['get', 'hosts/0.txt', '-'])
    assert.equal(get.code, 0, get.stderr)
    assert.match(get.stdout.toString(), /edited on another host/)
  })

  test('dfs node rm revokes a node: restarted with its certificate, it is refused', async () => {
    const client = host('client')
    const listed = await run(client, ['node', 'list', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    const before = JSON.parse(listed.stdout.toString()) as {
      role: string
      id: number
      server?: { live: boolean }
    }[]
    const dead = before.find((n) => n.role === 'fileserver' && n.server && !n.server.live)
    assert.ok(dead, `a dead file server in ${listed.stdout.toString()}`)
    const rm = await run(client, ['node', 'rm', String(dead.id)])
    assert.equal(rm.code, 0, rm.stderr)
    assert.match(rm.stdout.toString(), new RegExp(`fileserver ${dead.id} removed: 1 certificates revoked`))

    const name = `fs${dead.id}`
    const again = await member(name, 'fileserver', dead.id, 5050 + 10 * dead.id)
    await eventually('the directory to refuse the removed node', async () =>
      (await readFile(join(net.root, `${name}.log`), 'utf8')).includes('was revoked: the node was removed'),
    )
    const after = JSON.parse((await run(client, ['node', 'list', '--json'])).stdout.toString()) as {
      role: string
      id: number
      revoked: boolean
      server?: unknown
    }[]
    const removed = after.find((n) => n.role === 'fileserver' && n.id === dead.id)!
    assert.equal(removed.revoked, true)
    assert.equal(removed.server, undefined, 'its heartbeats no longer register it')
    await stopChild(again)
  })
})
