// `dfs shell`, the seed's interactive client, driven through a pseudo-terminal (util-linux `script`
// gives it one) as a person types: every menu item, Tab completion of names, and bad input.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BIN, TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'

describe('dfs shell', () => {
  let cluster: TestCluster
  let local: string
  let pty: ChildProcessWithoutNullStreams
  let screen = ''
  let seen = 0

  /** Waits for `text` to appear after what was already matched, and moves past it. */
  const expect = async (text: string) => {
    await eventually(
      `the shell to show ${JSON.stringify(text)} (screen so far: ${JSON.stringify(screen.slice(seen))})`,
      async () => {
        const at = screen.indexOf(text, seen)
        if (at < 0) return false
        seen = at + text.length
        return true
      },
      20_000,
    )
  }
  const type = (keys: string) => pty.stdin.write(keys)

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3 })
    assert.equal((await cluster.run(['put', '-', 'docs/notes.txt'], { input: 'first\n' })).code, 0)
    local = join(cluster.root, 'local')
    await mkdir(local)
    const command = `exec "${process.execPath}" "${BIN}" shell --dir "${local}"`
    pty = spawn('script', ['-qfec', command, '/dev/null'], {
      env: {
        ...process.env,
        DFS_PROXY: cluster.proxy,
        DFS_DATA: cluster.data,
        DFS_CONFIG_DIR: join(cluster.root, 'cli-config'),
        DFS_USER: 'tester',
        DFS_PASSWORD: 'test-password',
        NO_COLOR: '1',
        TERM: 'dumb',
      },
    })
    pty.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()))
    pty.stderr.on('data', (chunk: Buffer) => (screen += chunk.toString()))
    await expect('choice> ')
  })
  after(async () => {
    pty?.kill('SIGKILL')
    await cluster?.stop()
  })

  test('1 reads a file to its local copy, its name completed with Tab', async () => {
    type('1\r')
    await expect('file name> ')
    type('docs/no\t')
    await expect('docs/notes.txt')
    type('\r')
    await expect('choice> ')
    assert.equal(await readFile(join(local, 'docs', 'notes.txt'), 'utf8'), 'first\n')
  })

  test('2 takes the write lock (others wait), 3 uploads the edited copy and releases it', async () => {
    type('2\r')
    await expect('file name> ')
    type('docs/notes.txt\r')
    await expect('write mode on docs/notes.txt')
    await expect('choice> ')
    const blocked = await cluster.run(['write', 'docs/notes.txt', '--wait', '1s'], { input: 'other\n' })
    assert.notEqual(blocked.code, 0)
    assert.match(blocked.stderr.toString(), /DFS_LOCKED/)

    await writeFile(join(local, 'docs', 'notes.txt'), 'edited in the shell\n')
    type('3\r')
    await expect('file name> ')
    type('docs/notes.txt\r')
    await expect('released the lock on docs/notes.txt')
    await expect('choice> ')
    const read = await cluster.run(['get', 'docs/notes.txt', '-'])
    assert.equal(read.stdout.toString(), 'edited in the shell\n')
  })

  test('4 uploads a new file; l lists it; s shows the cluster', async () => {
    const path = join(cluster.root, 'new.txt')
    await writeFile(path, 'brand new\n')
    type('4\r')
    await expect('local file> ')
    type(`${path}\r`)
    await expect('file name> ')
    type('docs/new.txt\r')
    await expect('docs/new.txt: version 1')
    await expect('choice> ')
    type('l\r')
    await expect('docs/new.txt')
    await expect('choice> ')
    type('s\r')
    await expect('fileserver 1  live')
    await expect('choice> ')
  })

  test('bad input: an unknown number, an empty name, a name that does not exist, write without the lock', async () => {
    type('7\r')
    await expect('unknown choice "7"')
    await expect('choice> ')
    type('1\r')
    await expect('file name> ')
    type('\r')
    await expect('a file name is needed')
    await expect('choice> ')
    type('1\r')
    await expect('file name> ')
    type('docs/nope.txt\r')
    await expect('DFS_NOT_FOUND')
    await expect('choice> ')
    type('3\r')
    await expect('file name> ')
    type('docs/notes.txt\r')
    await expect('request write mode on docs/notes.txt first (2)')
    await expect('choice> ')
  })

  test('q quits with status 0, releasing any lock it holds', async () => {
    type('2\r')
    await expect('file name> ')
    type('docs/new.txt\r')
    await expect('write mode on docs/new.txt')
    await expect('choice> ')
    const exited = new Promise<number | null>((resolve) => pty.once('close', resolve))
    type('q\r')
    await expect('released the lock on docs/new.txt')
    assert.equal(await exited, 0)
    const stat = await cluster.stat('docs/new.txt')
    assert.equal(stat.lock, undefined, 'the lock was released')
  })
})
