// The program as npm installs it: bin/run.js runs the bundle that `npm run build` makes in
// dist/bundle/, which answers --version and --help without loading a command, prints what the
// compiled dist/ prints, and runs from the packed tarball alone, with no node_modules.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { BROKEN_PIPE_STATUS } from '../../src/cli/broken-pipe.ts'
import { nodeInvocation, runCli, type Invocation } from '../helpers/cluster.ts'
import { bundledPackages, loadedFiles, loadedModulesEnv } from '../helpers/loaded-modules.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

/** Runs a command to completion; its output, or its failure with that output. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) =>
      code === 0
        ? resolvePromise(stdout)
        : reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${stderr.slice(-4000)}`)),
    )
  })
}

describe('the program npm installs', () => {
  let home: string
  // No saved login and no proxy: user commands stop at once, before any network.
  const env = (): NodeJS.ProcessEnv => ({ DFS_CONFIG_DIR: join(home, 'config'), DFS_PROXY: '' })

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'dist/bundle/dfs.js')), 'no dist/bundle/: run npm run build first')
    home = await mkdtemp(join(tmpdir(), 'dfs-npm-'))
  })
  after(async () => {
    if (home) await rm(home, { recursive: true, force: true })
  })

  /** `dfs args`, with the files it loaded. */
  async function traced(args: string[]) {
    const record = join(home, 'modules.txt')
    const result = await runCli(nodeInvocation, args, { env: { ...env(), ...loadedModulesEnv(record) } })
    return { ...result, files: loadedFiles(record) }
  }

  test('--version and --help come from the bundle, with no command and no node_modules loaded', async () => {
    for (const args of [['--version'], ['--help'], ['ls', '--help'], ['get', '--help']]) {
      const { code, stderr, files } = await traced(args)
      assert.equal(code, 0, stderr)
      assert.equal(files[0], 'bin/run.js')
      assert.ok(files.includes('dist/bundle/dfs.js'), files.join(' '))
      // bin/check-node.js: the launcher's Node version check, which runs before anything else.
      const start = new Set(['dist/bundle/dfs.js', 'bin/check-node.js'])
      const others = files.slice(1).filter((f) => !f.startsWith('dist/bundle/chunks/') && !start.has(f))
      assert.deepEqual(others, [], `dfs ${args.join(' ')} loaded more than the bundle's start`)
    }
  })

  test('a user command loads the commands, and no server package', async () => {
    const { code, stderr, files } = await traced(['ls'])
    assert.equal(code, 2, stderr)
    assert.match(stderr, /^dfs: DFS_USAGE: no proxy known/)
    assert.ok(files.includes('dist/bundle/commands.js'), files.join(' '))
    assert.ok(!files.some((f) => f.startsWith('node_modules/') || f.includes('/node_modules/')))
    const packages = bundledPackages(files)
    assert.ok(packages.has('@oclif/core'), [...packages].join(' '))
    // ky comes with the first JSON call, which a command that stops before the network never makes.
    assert.ok(!packages.has('ky'), [...packages].join(' '))
    for (const server of ['fastify', 'node-forge', 'pg', 'pino', 'undici'])
      assert.ok(!packages.has(server), server)
  })

  test('every file of the bundle is Latin-1, so V8 holds its source at one byte a character', async () => {
    const dir = join(ROOT, 'dist/bundle')
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.js'))
    assert.ok(files.length > 10, files.join(' '))
    for (const file of files) {
      const wide = /[\u0100-\uffff]/.exec(await readFile(join(dir, file), 'utf8'))
      assert.equal(wide, null, `${file} has ${JSON.stringify(wide?.[0])} at ${wide?.index}`)
    }
  })

  test('--version prints the line oclif prints for the compiled dist/, without loading oclif', async () => {
    for (const args of [['--version'], ['--version', 'ls']]) {
      const bundled = await traced(args)
      assert.equal(bundled.code, 0, bundled.stderr)
      assert.match(
        bundled.stdout.toString(),
        new RegExp(`^dfs/${VERSION.replaceAll('.', '\\.')} \\S+ node-v[\\d.]+\\n$`),
      )
      assert.ok(!bundledPackages(bundled.files).has('@oclif/core'), bundled.files.join(' '))
      const compiled = await runCli(nodeInvocation, args, { env: { ...env(), DFS_UNBUNDLED: '1' } })
      assert.equal(compiled.code, 0, compiled.stderr)
      assert.equal(bundled.stdout.toString(), compiled.stdout.toString())
    }
  })

  test('help and usage errors read the same from the bundle as from dist/', async () => {
    for (const args of [['--help'], ['ls', '--help'], ['put', '--help'], ['ls', '--no-such-flag']]) {
      const bundled = await runCli(nodeInvocation, args, { env: env() })
      const compiled = await runCli(nodeInvocation, args, { env: { ...env(), DFS_UNBUNDLED: '1' } })
      assert.equal(bundled.code, compiled.code, args.join(' '))
      assert.equal(bundled.stdout.toString(), compiled.stdout.toString(), args.join(' '))
      assert.equal(bundled.stderr, compiled.stderr, args.join(' '))
    }
  })

  test('help to a reader that has gone away stops quietly, as on SIGPIPE (issue 15)', async () => {
    for (const extra of [{}, { DFS_UNBUNDLED: '1' }]) {
      const closed = await runCli(nodeInvocation, ['ls', '--help'], {
        env: { ...env(), ...extra },
        closeStdout: true,
      })
      assert.equal(closed.stderr, '')
      assert.equal(closed.code, BROKEN_PIPE_STATUS)
    }
  })

  test(
    'the packed tarball runs on its own: its bundle needs no node_modules',
    { timeout: 120_000 },
    async () => {
      // What npm pack ships (the `files` of package.json), unpacked where no node_modules is near.
      const packed = JSON.parse(
        await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', home], ROOT),
      ) as { filename: string; files: { path: string }[] }[]
      const tarball = packed[0]
      assert.ok(tarball)
      const shipped = tarball.files.map((f) => f.path)
      for (const needed of [
        'bin/run.js',
        'dist/bundle/dfs.js',
        'dist/bundle/commands.js',
        'oclif.manifest.json',
      ])
        assert.ok(shipped.includes(needed), `${needed} is not in the tarball`)
      await run('tar', ['xzf', join(home, tarball.filename), '-C', home], home)
      const installed: Invocation = {
        command: process.execPath,
        prefix: [join(home, 'package', 'bin', 'run.js')],
      }
      const version = await runCli(installed, ['--version'], { env: env() })
      assert.equal(version.code, 0, version.stderr)
      assert.match(version.stdout.toString(), new RegExp(`^dfs/${VERSION.replaceAll('.', '\\.')} `))
      const help = await runCli(installed, ['ls', '--help'], { env: env() })
      assert.equal(help.code, 0, help.stderr)
      assert.equal(
        help.stdout.toString(),
        (await runCli(nodeInvocation, ['ls', '--help'], { env: env() })).stdout.toString(),
      )
      // A command, not only help: it loads the commands and stops at the missing proxy.
      const ls = await runCli(installed, ['ls'], { env: env() })
      assert.equal(ls.code, 2)
      assert.match(ls.stderr, /^dfs: DFS_USAGE: no proxy known/)
      // Without its bundle, the installed program would need its dependencies: this copy has none.
      const unbundled = await runCli(installed, ['--version'], { env: { ...env(), DFS_UNBUNDLED: '1' } })
      assert.notEqual(unbundled.code, 0)
    },
  )
})
