// The standalone binary (dist-bin/dfs, from `npm run package`) on its own: copied to an empty temp
// directory, it runs every role of a real cluster and the CLI, with no node_modules or dist/ nearby.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { chmod, copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { request } from 'undici'
import { BROKEN_PIPE_STATUS } from '../../src/cli/broken-pipe.ts'
import { undiciAgent } from '../helpers/undici-agent.ts'
import { caCertPath } from '../../src/tls/ca-files.ts'
import type { Located } from '../../src/protocol/types.ts'
import { runCli, TestCluster, type Invocation } from '../helpers/cluster.ts'
import { randomFile, sha256, sha256File } from '../helpers/files.ts'

const MiB = 1024 * 1024
const ROOT = resolve(import.meta.dirname, '../..')
const BINARY = join(ROOT, 'dist-bin', 'dfs')

/** Newest modification time of everything the binary is built from. */
function newestSource(): number {
  const files = [
    ...readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).map((f) => join(ROOT, 'src', f)),
    join(ROOT, 'package.json'),
    join(ROOT, 'package-lock.json'),
    join(ROOT, 'scripts', 'package.ts'),
    join(ROOT, 'scripts', 'bundle.ts'),
    join(ROOT, 'scripts', 'embed-ui.ts'),
  ]
  return Math.max(...files.filter((f) => existsSync(f)).map((f) => statSync(f).mtimeMs))
}

function binaryIsStale(): boolean {
  return !existsSync(BINARY) || statSync(BINARY).mtimeMs < newestSource()
}

/** `npm run package`, with this test's Node first on PATH (the script needs Node 22+). */
function packageBinary(): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('npm', ['run', 'package'], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`npm run package failed (exit ${code}):\n${output.slice(-4000)}`)),
    )
  })
}

describe('the standalone binary', () => {
  let home: string
  let invocation: Invocation
  let cluster: TestCluster

  before(
    async () => {
      if (binaryIsStale()) await packageBinary()
      assert.ok(!binaryIsStale(), 'dist-bin/dfs is still missing or older than the sources')
      home = await mkdtemp(join(tmpdir(), 'dfs-binary-'))
      const copy = join(home, 'dfs')
      await copyFile(BINARY, copy)
      await chmod(copy, 0o755)
      invocation = { command: copy, prefix: [] }
      cluster = await TestCluster.start({ fileservers: 2, invocation })
    },
    { timeout: 10 * 60_000 },
  )
  after(async () => {
    await cluster?.stop()
    if (home) await rm(home, { recursive: true, force: true })
  })

  test('it is alone in its directory and reports its version', async () => {
    assert.deepEqual(await readdir(home), ['dfs'])
    const version = await runCli(invocation, ['--version'])
    assert.equal(version.code, 0, version.stderr)
    assert.match(version.stdout.toString(), /^dfs\/\d+\.\d+\.\d+ \S+ node-v\d+/)
  })

  test('every role runs from the binary itself', () => {
    const roles = [cluster.directory, ...cluster.fileservers.values(), ...cluster.proxies]
    assert.equal(roles.length, 4)
    for (const role of roles) {
      assert.equal(role.process.spawnfile, invocation.command, role.name)
      assert.equal(role.process.exitCode, null, `${role.name} is running`)
    }
  })

  test('the proxy serves the web dashboard from inside the binary: no file of it is on disk', async () => {
    const agent = undiciAgent({ ca: await readFile(caCertPath(cluster.data), 'utf8') })
    try {
      for (const [path, type] of [
        ['/ui/', 'text/html'],
        ['/ui/app.js', 'text/javascript'],
        ['/ui/style.css', 'text/css'],
      ]) {
        const response = await request(`${cluster.proxy}${path}`, { dispatcher: agent })
        const body = await response.body.text()
        assert.equal(response.statusCode, 200, path)
        assert.match(String(response.headers['content-type']), new RegExp(`^${type};`), path)
        assert.ok(body.length > 100, path)
      }
    } finally {
      await agent.close()
    }
  })

  test('a file of random bytes goes in and comes back byte for byte, on two distinct servers', async () => {
    const local = join(cluster.root, 'random.in')
    const size = 4 * MiB + 3
    const digest = await randomFile(local, size)
    const put = await cluster.run(['put', local, 'binary/random.bin'])
    assert.equal(put.code, 0, put.stderr)
    const out = join(cluster.root, 'random.out')
    const get = await cluster.run(['get', 'binary/random.bin', out])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(statSync(out).size, size)
    assert.equal(await sha256File(out), digest)

    const stat = await cluster.run(['stat', 'binary/random.bin', '--json'])
    assert.equal(stat.code, 0, stat.stderr)
    const file = JSON.parse(stat.stdout.toString()) as Located
    assert.equal(file.size, size)
    assert.equal(file.sha256, digest)
    assert.equal(file.holders.length, 2)
    assert.equal(new Set(file.holders).size, 2, `holders ${file.holders.join(',')}`)
    assert.ok(file.holders.includes(file.primary))
  })

  test('a stdin pipe goes in, and comes back out on stdout', async () => {
    const data = Buffer.alloc(2 * MiB + 11, 'dfs binary pipe ')
    const put = await cluster.run(['put', '-', 'binary/pipe.txt'], { input: data })
    assert.equal(put.code, 0, put.stderr)
    const get = await cluster.run(['get', 'binary/pipe.txt', '-'])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(get.stdout.length, data.length)
    assert.equal(sha256(get.stdout), sha256(data))
    // Its reader gone (issue 15), it stops quietly, as bin/run.js does.
    const unread = await cluster.run(['get', 'binary/pipe.txt', '-'], { closeStdout: true })
    assert.equal(unread.stderr, '')
    assert.equal(unread.code, BROKEN_PIPE_STATUS)
  })
})
