// A cluster shared by people who do not all trust each other, driven through the CLI as they would:
// owners, groups and modes checked on every operation, prefix rules, accounts the admin controls,
// sessions that end. `tester` registered first, so it is the admin; alice and bob are users.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { BIN, TestCluster, type RunResult } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'
import type { FileVersion, Located } from '../../src/protocol/types.ts'

describe('a shared cluster', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2 })
  })
  after(async () => {
    await cluster?.stop()
  })

  // The tester logs in with the cluster helper's password; the others with `<user>-password`.
  const env = (user: string) => (user === 'tester' ? cluster.as(user, 'test-password') : cluster.as(user))
  const as = (user: string, args: string[], input?: string) =>
    cluster.run(args, { env: env(user), ...(input === undefined ? {} : { input }) })
  const ok = async (user: string, args: string[], input?: string) => {
    const result = await as(user, args, input)
    assert.equal(result.code, 0, `${user}: dfs ${args.join(' ')}: ${result.stderr}`)
    return result
  }
  const json = async <T>(user: string, args: string[]) =>
    JSON.parse((await ok(user, [...args, '--json'])).stdout.toString()) as T
  const forbidden = (result: RunResult, what: string, permission?: RegExp) => {
    assert.equal(result.code, 1, `${what}: ${result.stderr}`)
    assert.match(result.stderr, /DFS_FORBIDDEN/, what)
    if (permission) assert.match(result.stderr, permission, what)
  }

  test("bob can neither read, overwrite, lock, restore, remove nor list alice's private file", async () => {
    await ok('alice', ['put', '-', 'alice/secret.txt'], 'version one\n')
    await ok('alice', ['put', '--force', '-', 'alice/secret.txt'], 'version two\n')
    await ok('alice', ['chmod', '600', 'alice/secret.txt'])
    const mine = await json<Located>('alice', ['stat', 'alice/secret.txt'])
    assert.deepEqual([mine.owner, mine.group, mine.mode], ['alice', 'users', 0o600])

    forbidden(await as('bob', ['get', 'alice/secret.txt', '-']), 'get', /bob may not read alice\/secret\.txt/)
    forbidden(await as('bob', ['stat', 'alice/secret.txt']), 'stat')
    forbidden(await as('bob', ['log', 'alice/secret.txt']), 'log')
    forbidden(
      await as('bob', ['put', '--force', '-', 'alice/secret.txt'], 'mine now'),
      'put --force',
      /write/,
    )
    forbidden(await as('bob', ['write', 'alice/secret.txt'], 'mine now'), 'write')
    forbidden(await as('bob', ['lock', 'alice/secret.txt', '--', 'true']), 'lock')
    forbidden(await as('bob', ['restore', 'alice/secret.txt', '--version', '1']), 'restore')
    forbidden(await as('bob', ['rm', 'alice/secret.txt']), 'rm')
    forbidden(await as('bob', ['chmod', '666', 'alice/secret.txt']), 'chmod by another user')
    forbidden(await as('bob', ['chown', 'bob', 'alice/secret.txt']), 'chown by another user')
    const listed = await json<FileVersion[]>('bob', ['ls'])
    assert.ok(!listed.some((f) => f.name === 'alice/secret.txt'), 'ls shows only what bob may read')

    const read = await ok('alice', ['get', 'alice/secret.txt', '-'])
    assert.equal(read.stdout.toString(), 'version two\n', 'nothing bob tried changed a byte')
    const long = (await ok('alice', ['ls', '-l', 'alice/'])).stdout.toString()
    assert.match(long, /^rw------- {2}alice {8}users .* alice\/secret\.txt$/m)
    const admin = await ok('tester', ['get', 'alice/secret.txt', '-'])
    assert.equal(admin.stdout.toString(), 'version two\n', 'the admin may read anything')
  })

  test('a group lets its members read what others may not; only admins give names away', async () => {
    // Everyone is in group users, so a name for a few is 600 first, then 640 in their group.
    await ok('alice', ['put', '-', 'alice/plan.txt'], 'the plan\n')
    await ok('alice', ['chmod', '600', 'alice/plan.txt'])
    forbidden(await as('bob', ['get', 'alice/plan.txt', '-']), 'before the group')
    forbidden(await as('alice', ['group', 'add', 'team', 'alice', 'bob']), 'a user making a group')
    await ok('tester', ['group', 'add', 'team', 'alice', 'bob'])
    forbidden(await as('bob', ['chown', ':team', 'alice/plan.txt']), 'not the owner')
    await ok('alice', ['chown', ':team', 'alice/plan.txt'])
    await ok('alice', ['chmod', 'g+r', 'alice/plan.txt'])
    assert.equal((await ok('bob', ['get', 'alice/plan.txt', '-'])).stdout.toString(), 'the plan\n')
    forbidden(await as('bob', ['put', '--force', '-', 'alice/plan.txt'], 'x'), 'group may only read')
    forbidden(await as('alice', ['chown', 'bob', 'alice/plan.txt']), 'giving a name away')
    await ok('tester', ['chown', 'bob:team', 'alice/plan.txt'])
    const plan = await json<Located>('bob', ['stat', 'alice/plan.txt'])
    assert.deepEqual([plan.owner, plan.group], ['bob', 'team'])
    await ok('tester', ['group', 'rm', 'team', 'alice'])
    forbidden(await as('alice', ['get', 'alice/plan.txt', '-']), 'out of the group, alice is "others"')
    const groups = await json<{ group: string; members: string[] | string }[]>('bob', ['group', 'list'])
    assert.deepEqual(
      groups.find((g) => g.group === 'team'),
      { group: 'team', members: ['bob'] },
    )
  })

  test("the default mode keeps the seed's shared editing; a prefix rule makes a home private", async () => {
    await ok('tester', ['put', '-', 'shared/notes.txt'], 'first\n')
    await ok('bob', ['put', '--force', '-', 'shared/notes.txt'], 'second\n')
    const notes = await json<Located>('alice', ['stat', 'shared/notes.txt'])
    assert.deepEqual([notes.owner, notes.mode, notes.writer], ['tester', 0o664, 'bob'])

    await ok('alice', ['chmod', '-R', '700', 'home/alice/'])
    await ok('alice', ['put', '-', 'home/alice/diary.txt'], 'dear diary\n')
    const diary = await json<Located>('alice', ['stat', 'home/alice/diary.txt'])
    assert.deepEqual([diary.owner, diary.mode], ['alice', 0o600], 'a new name takes the rule, rw only')
    forbidden(await as('bob', ['put', '-', 'home/alice/intruder.txt'], 'x'), 'making a name in her home')
    forbidden(await as('bob', ['get', 'home/alice/diary.txt', '-']), 'reading in her home')
    forbidden(await as('bob', ['chmod', '-R', '777', 'home/alice/']), "changing alice's rule")
    forbidden(await as('bob', ['chmod', '-R', '777', 'home/alice/sub/']), 'a rule inside hers')
    forbidden(await as('bob', ['chmod', '-R', '777', 'shared/']), 'a rule over names of others')
    await ok('bob', ['chmod', '-R', '755', 'home/bob/'])
    const rules = await json<{ prefix: string; owner: string; mode: number }[]>('bob', ['ls', '--rules'])
    assert.deepEqual(
      rules.map((r) => [r.prefix, r.owner, r.mode]),
      [
        ['home/alice/', 'alice', 0o600],
        ['home/bob/', 'bob', 0o644],
      ],
    )
  })

  test('dfs watch shows a user only changes to names they may read', async () => {
    const watcher = spawn(process.execPath, [BIN, 'watch', '--json'], {
      env: { ...process.env, DFS_PROXY: cluster.proxy, DFS_DATA: cluster.data, ...cluster.as('bob') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const seen: string[] = []
    createInterface({ input: watcher.stdout }).on('line', (line) =>
      seen.push((JSON.parse(line) as { name: string }).name),
    )
    try {
      // The stream is connected once bob sees a change to a name he may read.
      await eventually('bob to see a shared change', async () => {
        await ok('alice', ['put', '--force', '-', 'shared/ping.txt'], 'ping\n')
        return seen.includes('shared/ping.txt')
      })
      await ok('alice', ['put', '-', 'home/alice/hidden.txt'], 'not for bob\n')
      await ok('alice', ['put', '-', 'shared/visible.txt'], 'for everyone\n')
      await eventually('bob to see the later shared change', async () => seen.includes('shared/visible.txt'))
      assert.ok(!seen.includes('home/alice/hidden.txt'), JSON.stringify(seen))
    } finally {
      watcher.kill('SIGTERM')
    }
  })

  test('an admin controls accounts; passwords are at least 8 characters; sessions end', async () => {
    forbidden(await as('bob', ['user', 'list']), 'listing users')
    const short = await cluster.run(['user', 'add', 'carol'], {
      env: { ...env('tester'), DFS_NEW_PASSWORD: 'short' },
    })
    assert.equal(short.code, 1)
    assert.match(short.stderr, /DFS_BAD_REQUEST: a password needs at least 8 characters/)
    const added = await cluster.run(['user', 'add', 'carol', '--json'], {
      env: { ...env('tester'), DFS_NEW_PASSWORD: 'carol-password' },
    })
    assert.equal(added.code, 0, added.stderr)
    const users = await json<{ user: string; admin: boolean }[]>('tester', ['user', 'list'])
    assert.deepEqual(
      users.map((u) => [u.user, u.admin]),
      [
        ['alice', false],
        ['bob', false],
        ['carol', false],
        ['tester', true],
      ],
    )
    await ok('carol', ['ls'])

    // A password change ends every session of that user: bob's other terminal must log in again.
    const otherTerminal = { ...cluster.as('bob'), DFS_CONFIG_DIR: `${cluster.root}/cli-config-bob-2` }
    assert.equal((await cluster.run(['ls'], { env: otherTerminal })).code, 0)
    const changed = await cluster.run(['user', 'passwd'], {
      env: { ...cluster.as('bob'), DFS_NEW_PASSWORD: 'bob-new-password' },
    })
    assert.equal(changed.code, 0, changed.stderr)
    assert.match(changed.stdout.toString(), /password of bob changed; 2 sessions ended/)
    const stale = await cluster.run(['ls'], { env: { ...otherTerminal, DFS_PASSWORD: '' } })
    assert.equal(stale.code, 1)
    assert.match(stale.stderr, /DFS_AUTH/)
    assert.equal((await cluster.run(['ls'], { env: cluster.as('bob', 'bob-new-password') })).code, 0)
    const oldPassword = await cluster.run(['ls'], { env: otherTerminal })
    assert.match(oldPassword.stderr, /DFS_AUTH: wrong user name or password/)

    await ok('tester', ['user', 'rm', 'carol'])
    const removed = await cluster.run(['ls'], { env: { ...cluster.as('carol'), DFS_PASSWORD: '' } })
    assert.match(removed.stderr, /DFS_AUTH/, "a removed user's session ends")
    const lastAdmin = await as('tester', ['user', 'rm', 'tester'])
    assert.match(lastAdmin.stderr, /DFS_CONFLICT: tester is the last admin/)

    await ok('alice', ['logout'])
    const loggedOut = await cluster.run(['ls'], { env: { ...cluster.as('alice'), DFS_PASSWORD: '' } })
    assert.match(loggedOut.stderr, /DFS_AUTH/)
  })
})
