// Starting roles as child processes (dfs up, the tests): with a log file the role writes to it
// itself and its listening line is read from it; without one, from its pipes. Either way a role
// that cannot listen (its port is taken) exits at once, not hanging on what it had started, and the
// start fails with its last words.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startChild, stopChild } from '../../src/cli/children.ts'
import { nodeInvocation } from '../helpers/cluster.ts'

describe('starting a role as a child process', () => {
  let dir: string
  let busy: Server
  let busyPort: number
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-children-'))
    busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    busyPort = (busy.address() as { port: number }).port
  })
  after(async () => {
    busy.close()
    await rm(dir, { recursive: true, force: true })
  })

  const directory = (port: number, data: string) => ({
    name: 'directory',
    args: ['directory', '--port', String(port), '--data', data],
    invocation: nodeInvocation,
    env: { ...process.env, DFS_LOG: 'info' },
  })

  test('with a log: the URL comes from the line the role writes there, and its later lines follow', async () => {
    const log = join(dir, 'directory.log')
    const child = await startChild({ ...directory(0, join(dir, 'one')), log })
    try {
      assert.match(child.url, /^https:\/\/127\.0\.0\.1:\d+$/)
      const text = await readFile(log, 'utf8')
      assert.ok(text.includes(`listening on ${child.url}`), text)
    } finally {
      await stopChild(child)
    }
    assert.match(await readFile(log, 'utf8'), /"msg":"stopped"/)
  })

  test('with a log: a role that dies before it listens fails the start with its last line', async () => {
    const log = join(dir, 'busy.log')
    await assert.rejects(startChild({ ...directory(busyPort, join(dir, 'two')), log }), (error: Error) => {
      assert.match(
        error.message,
        /^directory exited \(\d+\) before listening: dfs: DFS_UNAVAILABLE: cannot listen on 127\.0\.0\.1:\d+: the port is in use/,
      )
      return true
    })
  })

  test('without a log: the same, from its pipes', async () => {
    const child = await startChild(directory(0, join(dir, 'three')))
    await stopChild(child)
    assert.match(child.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    await assert.rejects(
      startChild(directory(busyPort, join(dir, 'four'))),
      /before listening: dfs: DFS_UNAVAILABLE: cannot listen on 127\.0\.0\.1:\d+: the port is in use/,
    )
  })
})
