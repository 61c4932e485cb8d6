// The directory's audit log in a real cluster, through the CLI: a failed login, a write, a chmod and
// a removal show up in `dfs audit` with who did them and from where; only the admin (`tester`,
// registered first) may read it.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { TestCluster } from '../helpers/cluster.ts'
import type { AuditEntry } from '../../src/protocol/types.ts'

describe('the audit log', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2 })
  })
  after(async () => {
    await cluster?.stop()
  })

  const bob = (args: string[], input?: string) =>
    cluster.run(args, { env: cluster.as('bob'), ...(input === undefined ? {} : { input }) })
  const ok = async (result: Promise<{ code: number | null; stderr: string }>, what: string) => {
    const done = await result
    assert.equal(done.code, 0, `${what}: ${done.stderr}`)
  }
  const audit = async (args: string[] = []) => {
    const result = await cluster.run(['audit', '--json', '--since', '10m', ...args])
    assert.equal(result.code, 0, result.stderr)
    return JSON.parse(result.stdout.toString()) as AuditEntry[]
  }

  test('an admin sees a failed login, a put, a chmod and an rm, by whom and from where; bob may not', async () => {
    await ok(bob(['ls']), 'bob registers')
    const wrong = await cluster.run(['ls'], {
      env: {
        ...cluster.as('bob', 'not-bobs-password'),
        DFS_CONFIG_DIR: join(cluster.root, 'cli-config-guess'),
      },
    })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /DFS_AUTH/)
    await ok(bob(['put', '-', 'bob/notes.txt'], 'hello\n'), 'put')
    await ok(bob(['chmod', '600', 'bob/notes.txt']), 'chmod')
    await ok(bob(['rm', 'bob/notes.txt']), 'rm')

    const entries = await audit()
    const bobs = entries.filter((e) => e.user === 'bob')
    assert.deepEqual(
      bobs.map((e) => [e.action, e.name, e.outcome]),
      [
        ['login', undefined, 'ok'],
        ['login', undefined, 'DFS_AUTH'],
        ['write', 'bob/notes.txt', 'ok'],
        ['chmod', 'bob/notes.txt', 'ok'],
        ['rm', 'bob/notes.txt', 'ok'],
      ],
    )
    for (const entry of bobs) {
      // The proxy saw bob come from loopback, and told the directory so.
      assert.match(entry.client ?? '', /^(::ffff:)?127\.0\.0\.1$/, `${entry.action}: ${entry.client}`)
      assert.ok(Date.parse(entry.time) === entry.ms && Date.now() - entry.ms < 10 * 60_000)
    }
    const write = bobs[2]!
    assert.equal(write.version, 1)
    assert.match(write.node ?? '', /^fileserver [12]$/, 'a write is committed by its primary')
    assert.equal(bobs[3]!.node, 'proxy 1')
    assert.ok(
      entries.some((e) => e.action === 'login' && e.user === 'tester' && e.outcome === 'ok'),
      'the admin logged in too',
    )

    const onlyBob = await audit(['--user', 'bob'])
    assert.deepEqual(onlyBob, bobs)

    const human = await cluster.run(['audit', '--user', 'bob', '--since', '10m'])
    assert.equal(human.code, 0, human.stderr)
    const lines = human.stdout.toString().trim().split('\n')
    assert.equal(lines.length, 5)
    assert.match(lines[1]!, /login +bob +(::ffff:)?127\.0\.0\.1 +- +DFS_AUTH \(wrong user name or password\)/)
    assert.match(lines[2]!, /write +bob +\S+ +bob\/notes\.txt v1 +ok/)

    const refused = await bob(['audit'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /DFS_FORBIDDEN/)

    const file = join(cluster.data, 'directory', 'audit.log')
    assert.equal((await stat(file)).mode & 0o777, 0o600)
  })
})
