// Transfers show their progress on a terminal (a pseudo-terminal from util-linux `script` here): a bar
// with percent, bytes, rate and ETA for a file of known size, bytes and rate for stdin, a final line
// with size, time and rate; and nothing of it with --quiet or when stderr is not a terminal.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { summaryLine, transferLine } from '../../src/cli/progress.ts'
import { BIN, TestCluster } from '../helpers/cluster.ts'
import { randomFile } from '../helpers/files.ts'

const MiB = 1024 * 1024

describe('transfer progress', () => {
  let cluster: TestCluster
  let local: string

  /** Runs `sh -c SCRIPT` with a terminal as its stdin, stdout and stderr; resolves with what it showed. */
  const onTerminal = (script: string) =>
    new Promise<{ code: number | null; screen: string }>((resolve) => {
      // A person at a terminal, not a CI job (ora draws no progress under CI).
      const { CI: _ci, ...person } = process.env
      const child = spawn('script', ['-qfec', script, '/dev/null'], {
        env: {
          ...person,
          DFS_BIN: `"${process.execPath}" "${BIN}"`,
          DFS_PROXY: cluster.proxy,
          DFS_DATA: cluster.data,
          DFS_CONFIG_DIR: join(cluster.root, 'cli-config'),
          DFS_USER: 'tester',
          DFS_PASSWORD: 'test-password',
          COLUMNS: '120',
        },
      })
      let screen = ''
      child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()))
      child.stdin.end()
      child.once('close', (code) => resolve({ code, screen }))
    })

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3 })
    local = join(cluster.root, 'forty.bin')
    await randomFile(local, 40 * MiB)
    assert.equal((await cluster.run(['ls'])).code, 0)
  })
  after(async () => {
    await cluster?.stop()
  })

  test('a put and a get of 40 MiB on a terminal show a bar, then size, time and rate', async () => {
    const put = await onTerminal(`stty cols 120; eval $DFS_BIN put "${local}" p/forty.bin`)
    assert.equal(put.code, 0, put.screen)
    assert.match(put.screen, /\[[#.]{24}\] +\d+% {2}[\d.]+ MiB \/ 40\.0 MiB {2}[\d.]+ [KMG]?i?B\/s {2}ETA /)
    assert.match(put.screen, /40\.0 MiB in \d+\.\d s \([\d.]+ [KMG]?i?B\/s\)/)
    const out = join(cluster.root, 'forty.out')
    const get = await onTerminal(`stty cols 120; eval $DFS_BIN get p/forty.bin "${out}"`)
    assert.equal(get.code, 0, get.screen)
    assert.match(get.screen, /40\.0 MiB in \d+\.\d s/)
  })

  test('stdin of unknown length shows bytes and rate, without a percent', async () => {
    const put = await onTerminal(`stty cols 120; cat "${local}" | eval $DFS_BIN put - p/stdin.bin`)
    assert.equal(put.code, 0, put.screen)
    assert.match(put.screen, /[\d.]+ MiB {2}[\d.]+ [KMG]?i?B\/s/)
    assert.doesNotMatch(put.screen, /\d+%/)
  })

  test('--quiet, and a stderr that is not a terminal, show nothing of it', async () => {
    const quiet = await onTerminal(`stty cols 120; eval $DFS_BIN put "${local}" p/quiet.bin --quiet`)
    assert.equal(quiet.code, 0, quiet.screen)
    assert.doesNotMatch(quiet.screen, /ETA|%|MiB in/)
    assert.match(quiet.screen, /p\/quiet\.bin: version 1/)
    const piped = await cluster.run(['put', local, 'p/piped.bin'])
    assert.equal(piped.code, 0)
    assert.equal(piped.stderr.toString(), '')
  })

  test('the bar and the summary line', () => {
    assert.equal(transferLine(0, 100 * MiB, 0), `[${'.'.repeat(24)}]   0%  0 B / 100.0 MiB  0 B/s  ETA -`)
    assert.match(
      transferLine(50 * MiB, 100 * MiB, 5),
      /^\[#{12}\.{12}\] {2}50% {2}50\.0 MiB \/ 100\.0 MiB {2}10\.0 MiB\/s {2}ETA 5s$/,
    )
    assert.match(transferLine(3 * MiB, undefined, 1), /^3\.0 MiB {2}3\.0 MiB\/s$/)
    assert.equal(summaryLine(10 * MiB, 2), '10.0 MiB in 2.0 s (5.0 MiB/s)')
  })
})
