// Roles given several directories, the first of them down: file servers and proxies join, heartbeat,
// follow changes and serve users through the one that answers, and say so in their logs. (Two live
// directories on one shared database are tested where that store is.)

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { ProxyStatus } from '../../src/client/proxy-client.ts'
import { BIN, TestCluster } from '../helpers/cluster.ts'
import { deadUrl } from '../helpers/dead-url.ts'
import { eventually } from '../helpers/eventually.ts'

describe('roles whose first directory is down', () => {
  let cluster: TestCluster
  let dead: string

  before(async () => {
    dead = await deadUrl()
    cluster = await TestCluster.start({ fileservers: 2, directoryFlag: (url) => `${dead},${url}` })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('put, get, ls and watch work through the directory that answers', async () => {
    const watcher = spawn(process.execPath, [BIN, 'watch', '--json'], {
      env: {
        ...process.env,
        DFS_PROXY: cluster.proxy,
        DFS_DATA: cluster.data,
        DFS_CONFIG_DIR: join(cluster.root, 'cli-config'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const seen: { type: string; name: string; version: number }[] = []
    createInterface({ input: watcher.stdout }).on('line', (line) =>
      seen.push(JSON.parse(line) as (typeof seen)[number]),
    )
    try {
      const put = await cluster.run(['put', '-', 'through/live.txt'], { input: 'via the live one\n' })
      assert.equal(put.code, 0, put.stderr)
      const get = await cluster.run(['get', 'through/live.txt', '-'])
      assert.equal(get.code, 0, get.stderr)
      assert.equal(get.stdout.toString(), 'via the live one\n')
      const ls = await cluster.run(['ls', 'through/'])
      assert.equal(ls.code, 0, ls.stderr)
      assert.match(ls.stdout.toString(), /through\/live\.txt/)

      // The watch may connect after that write: writes go on until it has heard of one.
      let probes = 0
      await eventually('the watch to hear of a write', async () => {
        const probe = await cluster.run(['put', '-', `through/probe-${++probes}`], { input: 'probe\n' })
        assert.equal(probe.code, 0, probe.stderr)
        return seen.some((e) => e.type === 'put' && e.name.startsWith('through/probe-')) || undefined
      })
    } finally {
      watcher.kill('SIGTERM')
    }
  })

  test('the heartbeats and the change feed go to the live directory, and the logs say which was lost', async () => {
    const live = cluster.directory.url
    const status = JSON.parse((await cluster.run(['status', '--json'])).stdout.toString()) as ProxyStatus
    assert.equal(status.servers.filter((s) => s.live).length, 2)
    assert.equal(status.proxy.directory, live)
    assert.deepEqual(status.proxy.directories, [dead, live])
    assert.equal(status.proxy.changeFeed.connected, true)
    assert.equal(status.proxy.changeFeed.directory, live)

    const text = await cluster.run(['status'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(
      text.stdout.toString(),
      new RegExp(`^directory in use: ${live} \\(fails over to ${dead}\\)$`, 'm'),
    )

    for (const role of ['proxy-1', 'fileserver-1', 'fileserver-2']) {
      const log = await readFile(join(cluster.root, `${role}.log`), 'utf8')
      assert.ok(
        log.includes(`directory ${dead} lost: directory unreachable (connection refused); trying ${live}`),
        `${role} says which directory it lost`,
      )
      assert.ok(log.includes(`directory ${live} answered; using it`), `${role} says which answered`)
    }
  })
})
