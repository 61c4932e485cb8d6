// `dfs config get|set|list|unset` (issue 15): what the CLI saves, shown without its secrets, checked
// as --proxy is, and read by the commands that use it. Real `dfs` processes; a cluster for the part
// where a saved setting decides where a user command goes.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeInvocation, runCli, TestCluster, type RunResult } from '../helpers/cluster.ts'

const out = (run: RunResult) => run.stdout.toString()

describe('dfs config without a cluster', () => {
  let dir: string
  const dfs = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(nodeInvocation, args, {
      env: { DFS_CONFIG_DIR: dir, DFS_PROXY: undefined, DFS_USER: undefined, ...env },
    })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-config-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test('set, get (the bare value), list and unset a proxy and a user', async () => {
    const set = await dfs(['config', 'set', 'proxy', 'https://proxy.example:5000/'])
    assert.equal(set.code, 0, set.stderr)
    assert.equal((await dfs(['config', 'set', 'user', 'alice'])).code, 0)
    const get = await dfs(['config', 'get', 'proxy'])
    assert.equal(out(get), 'https://proxy.example:5000\n', 'saved without the trailing slash')
    assert.deepEqual(JSON.parse(out(await dfs(['config', 'get', 'user', '--json']))), { user: 'alice' })
    assert.equal(out(await dfs(['config', 'list'])), 'proxy: https://proxy.example:5000\nuser: alice\n')
    assert.deepEqual(JSON.parse(out(await dfs(['config', 'list', '--json']))), {
      proxy: 'https://proxy.example:5000',
      user: 'alice',
    })
    const unset = await dfs(['config', 'unset', 'proxy'])
    assert.equal(unset.code, 0, unset.stderr)
    const gone = await dfs(['config', 'get', 'proxy'])
    assert.equal(gone.code, 1)
    assert.equal(out(gone), '')
    assert.equal(gone.stderr, 'dfs: DFS_NOT_FOUND: proxy is not set\n')
    assert.equal(out(await dfs(['config', 'list'])), 'user: alice\n')
  })

  test('a proxy that is not https:// is refused as --proxy refuses it', async () => {
    for (const url of ['http://proxy.example:5000', 'https://proxy.example:5000/path', 'proxy.example']) {
      const set = await dfs(['config', 'set', 'proxy', url])
      const flag = await dfs(['ls', '--proxy', url])
      const message = `dfs: DFS_USAGE: a proxy is an https:// URL, not ${url}`
      assert.equal(set.stderr, `${message} (see dfs config set --help)\n`)
      assert.equal(set.code, 2)
      assert.equal(flag.stderr, `${message} (see dfs ls --help)\n`)
    }
    assert.equal((await dfs(['config', 'get', 'proxy'])).code, 1, 'nothing was saved')
  })

  test('an unknown key is one usage line naming the known ones, for every subcommand', async () => {
    for (const args of [
      ['get', 'proxxy'],
      ['set', 'proxxy', 'https://a:1'],
      ['unset', 'proxxy'],
    ]) {
      const run = await dfs(['config', ...args])
      assert.equal(
        run.stderr,
        `dfs: DFS_USAGE: unknown setting proxxy; the settings are proxy, user, token, ca (see dfs config ${args[0]} --help)\n`,
      )
      assert.equal(run.code, 2)
    }
    const token = await dfs(['config', 'set', 'token', 'abc'])
    assert.match(token.stderr, /^dfs: DFS_USAGE: token is saved by dfs login, not set by hand; .*proxy, user/)
    assert.equal(token.code, 2)
  })
})

describe('dfs config with a cluster', () => {
  let cluster: TestCluster
  // The saved login alone: no $DFS_PROXY, and no password to log in again with.
  const savedOnly = { DFS_PROXY: undefined, DFS_USER: undefined, DFS_PASSWORD: undefined }
  const configFile = () => join(cluster.root, 'cli-config', 'config.json')

  before(async () => {
    // Starting logs tester in (dfs status with $DFS_USER): the session, proxy and CA are saved.
    cluster = await TestCluster.start({ fileservers: 2 })
    const put = await cluster.run(['put', '-', 'docs/a.txt'], { input: 'a\n' })
    assert.equal(put.code, 0, put.stderr)
  })
  after(async () => {
    await cluster?.stop()
  })

  test('list shows the token as (saved) and the CA by its fingerprint, never either in full', async () => {
    const saved = JSON.parse(await readFile(configFile(), 'utf8')) as { token: string; ca: string }
    assert.ok(saved.token.length > 10 && saved.ca.includes('BEGIN CERTIFICATE'), 'a login was saved')
    const caPem = await readFile(join(cluster.data, 'ca', 'ca.crt'), 'utf8')
    const sha = `SHA256 ${new X509Certificate(caPem).fingerprint256}`
    const text = out(await cluster.run(['config', 'list']))
    assert.equal(text, `proxy: ${cluster.proxy}\nuser: tester\ntoken: (saved)\nca: ${sha}\n`)
    const json = out(await cluster.run(['config', 'list', '--json']))
    assert.deepEqual(JSON.parse(json), { proxy: cluster.proxy, user: 'tester', token: '(saved)', ca: sha })
    for (const shown of [text, json]) {
      assert.ok(!shown.includes(saved.token), 'no token')
      assert.ok(!shown.includes('CERTIFICATE'), 'no PEM')
    }
    const token = await cluster.run(['config', 'get', 'token'])
    assert.equal(token.code, 2)
    assert.equal(out(token), '')
    assert.ok(!token.stderr.includes(saved.token))
    assert.equal(out(await cluster.run(['config', 'get', 'ca'])), caPem.replace(/\n?$/, '\n'))
  })

  test('the saved proxy is the one user commands use, unless --proxy or $DFS_PROXY says otherwise', async () => {
    const ls = await cluster.run(['ls'], { env: savedOnly })
    assert.equal(ls.code, 0, ls.stderr)
    assert.match(out(ls), /docs\/a\.txt/)
    try {
      const set = await cluster.run(['config', 'set', 'proxy', 'https://127.0.0.1:1'])
      assert.equal(set.code, 0, set.stderr)
      const away = await cluster.run(['ls'], { env: savedOnly })
      assert.equal(away.code, 1)
      assert.match(away.stderr, /^dfs: DFS_UNAVAILABLE: .*https:\/\/127\.0\.0\.1:1/)
      const flag = await cluster.run(['ls', '--proxy', cluster.proxy], { env: savedOnly })
      assert.equal(flag.code, 0, flag.stderr)
      const env = await cluster.run(['ls'], { env: { ...savedOnly, DFS_PROXY: cluster.proxy } })
      assert.equal(env.code, 0, env.stderr)
    } finally {
      await cluster.run(['config', 'set', 'proxy', cluster.proxy])
    }
  })

  test('another user forgets the session, and is who dfs login logs in as', async () => {
    const set = await cluster.run(['config', 'set', 'user', 'mallory'])
    assert.equal(set.code, 0, set.stderr)
    assert.match(out(set), /forgot the saved token/)
    assert.ok(!('token' in JSON.parse(await readFile(configFile(), 'utf8'))), 'no token saved')
    const ls = await cluster.run(['ls'], { env: savedOnly })
    assert.equal(ls.code, 1)
    assert.match(ls.stderr, /^dfs: DFS_AUTH: not logged in/)
    assert.equal((await cluster.run(['config', 'set', 'user', 'tester'])).code, 0)
    // No --user and no $DFS_USER: the saved user, not the login name of whoever runs the test.
    const login = await cluster.run(['login'], { env: { ...savedOnly, DFS_PASSWORD: 'test-password' } })
    assert.equal(login.code, 0, login.stderr)
    assert.equal(out(login), `logged in to ${cluster.proxy} as tester\n`)
    assert.equal((await cluster.run(['ls'], { env: savedOnly })).code, 0)
  })
})
