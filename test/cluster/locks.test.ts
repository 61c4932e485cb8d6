// Write mode end to end: leases that others wait for, fencing of a writer that lost its lease, edits
// as transactions, and what a crashed writer leaves behind (nothing but the old version).

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Located } from '../../src/protocol/types.ts'
import { BIN, TestCluster } from '../helpers/cluster.ts'
import { randomFile, sha256, sha256File } from '../helpers/files.ts'

describe('write mode', () => {
  let cluster: TestCluster
  let binDir: string

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3, proxies: 2 })
    // `dfs` on PATH for the shell commands run under `dfs lock`.
    binDir = join(cluster.root, 'bin')
    await mkdir(binDir)
    await writeFile(join(binDir, 'dfs'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
    await chmod(join(binDir, 'dfs'), 0o755)
  })
  after(async () => {
    await cluster?.stop()
  })

  /** Environment for a client process: its own config dir, a proxy, dfs on PATH. */
  const clientEnv = (id: string, proxy = cluster.proxy): NodeJS.ProcessEnv => ({
    ...process.env,
    PATH: `${binDir}:${process.env.PATH}`,
    DFS_PROXY: proxy,
    DFS_DATA: cluster.data,
    DFS_CONFIG_DIR: join(cluster.root, `config-${id}`),
    DFS_USER: `user-${id}`,
    DFS_PASSWORD: `password-${id}`,
  })

  /** Starts `sh -c SCRIPT` as its own process group; resolves with its exit code and output. */
  const shell = (script: string, env: NodeJS.ProcessEnv) => {
    const child = spawn('/bin/sh', ['-c', script], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.once('close', (code) => resolve({ code, stdout, stderr })),
    )
    return { child, done }
  }

  const stat = (name: string): Promise<Located> => cluster.stat(name)

  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await sleep(50)
    }
  }

  test('8 clients on two proxies, 50 locked read-increment-write rounds each: the counter ends at 400', async () => {
    const init = await cluster.run(['put', '-', 'counter'], { input: '0\n' })
    assert.equal(init.code, 0, init.stderr)
    const round = `dfs lock counter --wait 10m -- sh -c 'v=$(dfs get counter -) && echo $((v + 1)) | dfs write counter'`
    const clients = Array.from({ length: 8 }, (_, i) =>
      shell(
        `for i in $(seq 50); do ${round} || exit 1; done`,
        clientEnv(`c${i}`, cluster.proxies[i % 2]!.url),
      ),
    )
    const results = await Promise.all(clients.map((c) => c.done))
    for (const result of results) assert.equal(result.code, 0, result.stderr)
    const get = await cluster.run(['get', 'counter', '-'])
    assert.equal(get.stdout.toString().trim(), '400')
    assert.equal((await stat('counter')).version, 401)
  })

  test('a second writer waits for the first; --wait 1s gives DFS_LOCKED naming the holder', async () => {
    await cluster.run(['put', '-', 'queue.txt'], { input: 'start\n' })
    // Logged in beforehand (a login costs a slow password hash), so the timing below is the lock's.
    for (const id of ['w2', 'w3']) assert.equal((await cluster.run(['ls'], { env: clientEnv(id) })).code, 0)
    // The first writer holds the lock until the test lets it go, however slow the machine is.
    const letGo = join(cluster.root, 'let-go')
    const first = shell(
      `dfs lock queue.txt -- sh -c 'echo first | dfs write queue.txt; while [ ! -e ${letGo} ]; do sleep 0.1; done'`,
      clientEnv('w1'),
    )
    await waitFor(
      'the first writer to hold the lock',
      async () => (await stat('queue.txt')).lock !== undefined,
    )
    let firstDone = 0
    void first.done.then(() => (firstDone = Date.now()))

    const second = shell(`echo second | dfs write queue.txt --wait 5m`, clientEnv('w2'))
    await waitFor('the second writer to queue', async () => (await stat('queue.txt')).lock?.waiting === 1)
    const impatient = await cluster.run(['write', 'queue.txt', '--wait', '1s'], {
      input: 'impatient\n',
      env: clientEnv('w3'),
    })
    assert.equal(impatient.code, 1)
    assert.match(impatient.stderr, /^dfs: DFS_LOCKED: queue\.txt is locked by user-w1/)
    await writeFile(letGo, '')

    const [a, b] = await Promise.all([first.done, second.done])
    assert.equal(a.code, 0, a.stderr)
    assert.equal(b.code, 0, b.stderr)
    assert.ok(Date.now() >= firstDone && firstDone > 0)
    assert.equal((await cluster.run(['get', 'queue.txt', '-'])).stdout.toString(), 'second\n')
    assert.equal((await stat('queue.txt')).lock, undefined)
  })

  test('a holder frozen past its TTL loses the lease; its late write is refused by fencing', async () => {
    await cluster.run(['put', '-', 'fenced.txt'], { input: 'original\n' })
    const ready = join(cluster.root, 'frozen-ready')
    const frozen = shell(
      `dfs lock fenced.txt --ttl 2s -- sh -c 'touch ${ready}; sleep 4; echo stale | dfs write fenced.txt'`,
      clientEnv('frozen'),
    )
    await waitFor('the holder to start', async () => existsSync(ready))
    process.kill(-frozen.child.pid!, 'SIGSTOP')
    try {
      const next = await cluster.run(['write', 'fenced.txt', '--wait', '20s'], {
        input: 'fresh\n',
        env: clientEnv('next'),
      })
      assert.equal(next.code, 0, next.stderr)
    } finally {
      process.kill(-frozen.child.pid!, 'SIGCONT')
    }
    const result = await frozen.done
    assert.notEqual(result.code, 0, 'the stale write must fail')
    assert.match(result.stderr, /DFS_CONFLICT/)
    assert.equal((await cluster.run(['get', 'fenced.txt', '-'])).stdout.toString(), 'fresh\n')
  })

  test('a writer killed mid-upload leaves the old version whole; its lock frees after the TTL', async () => {
    const old = join(cluster.root, 'old.bin')
    const oldDigest = await randomFile(old, 4 * 1024 * 1024)
    assert.equal((await cluster.run(['put', old, 'crash.bin'])).code, 0)
    const big = join(cluster.root, 'new.bin')
    await randomFile(big, 300 * 1024 * 1024)

    const writer = shell(`dfs write crash.bin --ttl 2s < ${big}`, clientEnv('crasher'))
    await waitFor('the upload to be under way', async () => (await stat('crash.bin')).lock !== undefined)
    await sleep(300)
    process.kill(-writer.child.pid!, 'SIGKILL')
    await writer.done

    const during = join(cluster.root, 'during.bin')
    assert.equal((await cluster.run(['get', 'crash.bin', during])).code, 0)
    assert.equal(await sha256File(during), oldDigest)
    assert.equal((await stat('crash.bin')).version, 1)

    const started = Date.now()
    const next = await cluster.run(['write', 'crash.bin', '--wait', '20s'], {
      input: 'after\n',
      env: clientEnv('after'),
    })
    assert.equal(next.code, 0, next.stderr)
    assert.ok(Date.now() - started < 15_000)
    assert.equal((await cluster.run(['get', 'crash.bin', '-'])).stdout.toString(), 'after\n')
    // No temp file survives on any file server.
    for (const id of [1, 2, 3]) {
      await waitFor(`tmp/ on server ${id} to empty`, async () => {
        const { readdir } = await import('node:fs/promises')
        return (await readdir(join(cluster.data, `fileserver-${id}`, 'tmp'))).length === 0
      })
    }
  })

  test('dfs edit appends through $EDITOR: both copies carry the new bytes the directory names', async () => {
    await cluster.run(['put', '-', 'notes/todo.txt'], { input: 'buy milk\n' })
    const editor = join(cluster.root, 'append.sh')
    await writeFile(editor, '#!/bin/sh\necho "call mum" >> "$1"\n')
    await chmod(editor, 0o755)
    const edit = await cluster.run(['edit', 'notes/todo.txt'], { env: { EDITOR: editor, VISUAL: '' } })
    assert.equal(edit.code, 0, edit.stderr)
    const expected = 'buy milk\ncall mum\n'
    assert.equal((await cluster.run(['get', 'notes/todo.txt', '-'])).stdout.toString(), expected)
    const file = await stat('notes/todo.txt')
    assert.equal(file.sha256, sha256(expected))
    assert.equal(file.version, 2)
    assert.equal(file.holders.length, 2)
    for (const id of file.holders) {
      const blob = join(cluster.data, `fileserver-${id}`, 'objects', file.sha256.slice(0, 2), file.sha256)
      assert.equal(await readFile(blob, 'utf8'), expected, `server ${id}`)
    }
    const unchanged = await cluster.run(['edit', 'notes/todo.txt'], { env: { EDITOR: 'true', VISUAL: '' } })
    assert.equal(unchanged.code, 0, unchanged.stderr)
    assert.equal((await stat('notes/todo.txt')).version, 2)
  })

  test('an edit whose lease was lost is kept as a conflict copy, not written over the other', async () => {
    await cluster.run(['put', '-', 'shared.txt'], { input: 'v1\n' })
    const editor = join(cluster.root, 'slow-editor.sh')
    const ready = join(cluster.root, 'editing')
    await writeFile(editor, `#!/bin/sh\ntouch ${ready}\nsleep 4\necho mine >> "$1"\n`)
    await chmod(editor, 0o755)
    const edit = shell(`EDITOR=${editor} dfs edit shared.txt --ttl 2s`, clientEnv('editor'))
    await waitFor('the editor to open', async () => existsSync(ready))
    process.kill(-edit.child.pid!, 'SIGSTOP')
    try {
      const other = await cluster.run(['write', 'shared.txt', '--wait', '20s'], {
        input: 'theirs\n',
        env: clientEnv('other'),
      })
      assert.equal(other.code, 0, other.stderr)
    } finally {
      process.kill(-edit.child.pid!, 'SIGCONT')
    }
    const result = await edit.done
    assert.equal(result.code, 1)
    const match = /saved as (shared\.txt\.conflict-user-editor-\d{8}T\d{6}Z)/.exec(result.stderr)
    assert.ok(match?.[1], result.stderr)
    assert.equal((await cluster.run(['get', 'shared.txt', '-'])).stdout.toString(), 'theirs\n')
    assert.equal((await cluster.run(['get', match[1], '-'])).stdout.toString(), 'v1\nmine\n')
  })
})
