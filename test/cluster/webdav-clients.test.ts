// Real WebDAV clients against the gateway: rclone (Debian's package) copies a tree in, checks it byte
// for byte, syncs changes and deletions; a davfs2 mount (where this machine lets a test mount) is used
// as a plain directory; and 2 GiB go up and down through WebDAV with every process under its bound.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { caCertPath } from '../../src/tls/ca.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { randomFile, sha256File } from '../helpers/files.ts'

const run = promisify(execFile)
const MiB = 1024 * 1024

describe('WebDAV with real clients', () => {
  let cluster: TestCluster
  let rcloneEnv: NodeJS.ProcessEnv

  const rclone = (...args: string[]) =>
    run(
      'rclone',
      ['--ca-cert', caCertPath(cluster.data), '--low-level-retries', '1', '--retries', '1', ...args],
      {
        env: rcloneEnv,
        maxBuffer: 16 * MiB,
      },
    )

  const names = async (prefix: string) => {
    const ls = await cluster.run(['ls', prefix, '--json'])
    assert.equal(ls.code, 0, ls.stderr.toString())
    return (JSON.parse(ls.stdout.toString()) as { name: string }[]).map((f) => f.name).sort()
  }

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3, proxyArgs: ['--webdav'] })
    assert.equal((await cluster.run(['ls'])).code, 0)
    const obscured = (await run('rclone', ['obscure', 'test-password'])).stdout.trim()
    rcloneEnv = {
      ...process.env,
      RCLONE_CONFIG: join(cluster.root, 'rclone.conf'),
      RCLONE_CONFIG_DFS_TYPE: 'webdav',
      RCLONE_CONFIG_DFS_URL: `${cluster.proxy}/dav/`,
      RCLONE_CONFIG_DFS_VENDOR: 'other',
      RCLONE_CONFIG_DFS_USER: 'tester',
      RCLONE_CONFIG_DFS_PASS: obscured,
    }
  })
  after(async () => {
    await cluster?.stop()
  })

  test('rclone copies a tree in, checks it byte for byte, and syncs changes and deletions', async () => {
    const local = join(cluster.root, 'tree')
    await mkdir(join(local, 'photos', '2026'), { recursive: true })
    await mkdir(join(local, 'empty'), { recursive: true })
    await writeFile(join(local, 'notes.txt'), 'first notes\n')
    await writeFile(join(local, 'name with spaces & ünïcode.txt'), 'odd name\n')
    await randomFile(join(local, 'photos', '2026', 'big.jpg'), 9 * MiB)
    for (let i = 0; i < 20; i++) await writeFile(join(local, 'photos', `small-${i}.txt`), `small ${i}\n`)

    await rclone('copy', local, 'dfs:tree', '--create-empty-src-dirs')
    await rclone('check', local, 'dfs:tree', '--download')
    assert.ok((await names('tree/')).includes('tree/photos/2026/big.jpg'))
    const dirs = (await rclone('lsf', 'dfs:tree', '--dirs-only')).stdout.split('\n')
    assert.ok(dirs.includes('empty/'), 'an empty folder made by MKCOL is listed')

    await writeFile(join(local, 'notes.txt'), 'second notes, longer than the first\n')
    await rm(join(local, 'photos', 'small-3.txt'))
    await writeFile(join(local, 'photos', 'added.txt'), 'added\n')
    await rclone('sync', local, 'dfs:tree')
    await rclone('check', local, 'dfs:tree', '--download')
    const after = await names('tree/')
    assert.ok(!after.includes('tree/photos/small-3.txt'), 'a deletion was synced')
    assert.ok(after.includes('tree/photos/added.txt'))
    const notes = await cluster.run(['get', 'tree/notes.txt', '-'])
    assert.equal(notes.stdout.toString(), 'second notes, longer than the first\n')

    await rclone('purge', 'dfs:tree/photos')
    assert.deepEqual(
      (await names('tree/')).filter((n) => n.startsWith('tree/photos/')),
      [],
      'rclone purge removed every name below',
    )
  })

  test('a davfs2 mount reads and writes like a directory', async (t) => {
    // mount.davfs reads the CA and keeps its cache as its own user (davfs2): outside the private
    // data root, in a folder it may read.
    const shared = await mkdtemp(join(tmpdir(), 'dfs-davfs2-'))
    t.after(() => rm(shared, { recursive: true, force: true }))
    await chmod(shared, 0o755)
    const caFile = join(shared, 'ca.crt')
    await copyFile(caCertPath(cluster.data), caFile)
    await chmod(caFile, 0o644)
    const mountPoint = join(shared, 'mnt')
    const conf = join(shared, 'davfs2.conf')
    const secrets = join(shared, 'davfs2.secrets')
    await mkdir(mountPoint)
    const url = `${cluster.proxy}/dav/`
    await writeFile(secrets, `${url} tester test-password\n`, { mode: 0o600 })
    await writeFile(
      conf,
      [
        `secrets ${secrets}`,
        `trust_ca_cert ${caFile}`,
        'use_locks 1',
        'cache_size 16',
        'delay_upload 0',
        'gui_optimize 0',
        '',
      ].join('\n'),
    )
    const mounted = spawnSync('mount', ['-t', 'davfs', url, mountPoint, '-o', `conf=${conf},uid=0,gid=0`], {
      encoding: 'utf8',
      input: '',
      timeout: 30_000,
    })
    const why = (mounted.stderr || mounted.error?.message || '').trim()
    if (
      mounted.status !== 0 &&
      /fuse|coda|not permitted|permission denied|no such device|not supported/i.test(why)
    ) {
      t.skip(`davfs2 cannot mount on this machine (no FUSE, or not allowed): ${why}`)
      return
    }
    assert.equal(mounted.status, 0, `mount.davfs: ${why}`)
    try {
      await mkdir(join(mountPoint, 'mounted'))
      await writeFile(join(mountPoint, 'mounted', 'via-mount.txt'), 'written through davfs2\n')
      // davfs2 uploads on close; sync makes it let go of what it holds.
      spawnSync('sync')
      const unmounted = spawnSync('umount', [mountPoint], { encoding: 'utf8', timeout: 60_000 })
      assert.equal(unmounted.status, 0, unmounted.stderr)
      const read = await cluster.run(['get', 'mounted/via-mount.txt', '-'])
      assert.equal(read.code, 0, read.stderr.toString())
      assert.equal(read.stdout.toString(), 'written through davfs2\n')

      const put = await cluster.run(['put', '-', 'mounted/from-cli.txt'], { input: 'from the cli\n' })
      assert.equal(put.code, 0, put.stderr.toString())
      const again = spawnSync('mount', ['-t', 'davfs', url, mountPoint, '-o', `conf=${conf},uid=0,gid=0`], {
        encoding: 'utf8',
        input: '',
        timeout: 30_000,
      })
      assert.equal(again.status, 0, again.stderr)
      assert.equal(await readFile(join(mountPoint, 'mounted', 'from-cli.txt'), 'utf8'), 'from the cli\n')
    } finally {
      spawnSync('umount', [mountPoint], { timeout: 60_000 })
    }
  })

  test('2 GiB up and down through WebDAV (curl) keep every process under 150 MB', async () => {
    const local = join(cluster.root, 'huge.bin')
    // A sparse file reads as zeros without taking disk: the bytes still cross every hop.
    await writeFile(local, '')
    await truncate(local, 2 * 1024 * MiB)
    const digest = await sha256File(local)
    const stopSampling = cluster.sampleRss()
    const curl = (...args: string[]) =>
      run(
        'curl',
        [
          '--fail',
          '--silent',
          '--show-error',
          '--cacert',
          caCertPath(cluster.data),
          '-u',
          'tester:test-password',
          ...args,
        ],
        {
          maxBuffer: MiB,
        },
      )
    await curl('-T', local, `${cluster.proxy}/dav/huge.bin`)
    const out = join(cluster.root, 'huge.out')
    await curl('-o', out, `${cluster.proxy}/dav/huge.bin`)
    const peaks = stopSampling()
    if (process.env.DFS_SHOW_RSS) console.log(JSON.stringify([...peaks]))
    await rm(local)
    assert.equal(await sha256File(out), digest)
    await rm(out)
    const limit = 150 * 1000 * 1000
    for (const [name, peak] of peaks)
      assert.ok(peak > 0 && peak < limit, `${name} RSS ${peak} during 2 GiB through WebDAV`)
  })
})
