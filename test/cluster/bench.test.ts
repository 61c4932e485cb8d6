// `dfs bench` against a real cluster: it measures every row, writes only under a prefix of its own,
// and leaves nothing of it behind.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Figure } from '../../src/cli/bench/dfs-bench.ts'
import { TestCluster } from '../helpers/cluster.ts'

describe('dfs bench', () => {
  let cluster: TestCluster

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3, proxies: 1 })
  })
  after(async () => {
    await cluster?.stop()
  })

  test('measures whole files, small files, the CLI loop and start-up, and removes what it wrote', async () => {
    const kept = join(cluster.root, 'kept.txt')
    await writeFile(kept, 'not the benchmark')
    assert.equal((await cluster.run(['put', kept, 'bench/kept.txt'])).code, 0)

    const result = await cluster.run([
      'bench',
      '--size',
      '3MiB',
      '--small-count',
      '40',
      '--loop-count',
      '2',
      '--version-runs',
      '2',
      '--json',
    ])
    assert.equal(result.code, 0, result.stderr)
    const report = JSON.parse(result.stdout.toString()) as { prefix: string; figures: Figure[] }
    assert.match(report.prefix, /^bench\/[0-9a-f]{8}\/$/)
    const keys = report.figures.map((f) => f.key)
    assert.deepEqual(keys, [
      'cliPut',
      'apiPut',
      'cliColdGet',
      'apiColdGet',
      'cliCachedGet',
      'apiCachedGet',
      'smallPut',
      'smallGet',
      'loopPut',
      'loopGet',
      'version',
    ])
    for (const figure of report.figures) assert.ok(figure.value > 0, `${figure.key}: ${figure.value}`)
    const smallPut = report.figures.find((f) => f.key === 'smallPut')!
    assert.ok(smallPut.p50Ms! > 0 && smallPut.p99Ms! >= smallPut.p50Ms!)
    assert.ok(report.figures.find((f) => f.key === 'cliPut')!.peakRssBytes! > 0)

    const listed = await cluster.run(['ls', 'bench/', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    const names = (JSON.parse(listed.stdout.toString()) as { name: string }[]).map((f) => f.name)
    assert.deepEqual(names, ['bench/kept.txt'])
  })
})
