// The quick path's reading of a command line (`dfs put`, `get` and `write` without oclif): it takes only
// what it reads exactly as oclif does, and leaves everything else to oclif, and the flags it knows are
// the ones the commands declare. That its output is oclif's own is checked against oclif itself in
// test/cluster/cli-ux.test.ts.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { LEASE_TTL_MS, LEASE_WAIT_MS } from '../../src/cli/lease.ts'
import { QUICK_SPECS, quickCommand, type QuickId } from '../../src/cli/quick-command.ts'
import { COMMANDS } from '../../src/index.ts'

const quick = (argv: string[], env: NodeJS.ProcessEnv = {}, tty = false) => quickCommand(argv, env, tty)

test('plain put, get, write and lock command lines run on the quick path, with their arguments and flags', () => {
  assert.deepEqual(quick(['put', 'a.txt', 'docs/a.txt']), {
    id: 'put',
    argv: ['a.txt', 'docs/a.txt'],
    args: ['a.txt', 'docs/a.txt'],
    flags: {},
  })
  assert.deepEqual(
    quick(['put', '--json', '-', 'n', '--force', '-q', '--proxy', 'https://p:1', '--data=/d'])?.flags,
    { json: true, force: true, quiet: true, proxy: 'https://p:1', data: '/d' },
  )
  assert.deepEqual(quick(['put', 'a', 'b', '--proxy=https://p:1'])?.flags, { proxy: 'https://p:1' })
  assert.deepEqual(quick(['get', 'n'])?.args, ['n'])
  assert.deepEqual(quick(['get', 'n', '-', '--range', '0-9', '--offline', '--no-color']), {
    id: 'get',
    argv: ['n', '-', '--range', '0-9', '--offline', '--no-color'],
    args: ['n', '-'],
    flags: { range: '0-9', offline: true, color: true },
  })
  assert.deepEqual(quick(['write', 'counter']), {
    id: 'write',
    argv: ['counter'],
    args: ['counter'],
    flags: {},
  })
  assert.deepEqual(quick(['write', '--create', 'logs/last.txt', '-q', '--json', '--proxy=https://p:1']), {
    id: 'write',
    argv: ['--create', 'logs/last.txt', '-q', '--json', '--proxy=https://p:1'],
    args: ['logs/last.txt'],
    flags: { create: true, quiet: true, json: true, proxy: 'https://p:1' },
  })
  assert.deepEqual(quick(['lock', 'counter', '--wait', '10m', '--', 'sh', '-c', 'dfs get counter -']), {
    id: 'lock',
    argv: ['counter', '--wait', '10m', '--', 'sh', '-c', 'dfs get counter -'],
    args: ['counter'],
    flags: { wait: '10m' },
    command: ['sh', '-c', 'dfs get counter -'],
  })
  // After `--`, everything is the command's, flags and another `--` too.
  assert.deepEqual(quick(['lock', '--json', 'n', '--ttl=30s', '--', 'ls', '-l', '--', '--json'])?.command, [
    'ls',
    '-l',
    '--',
    '--json',
  ])
})

test('anything oclif reads otherwise, or answers itself, is left to oclif', () => {
  for (const argv of [
    ['ls'],
    ['put'],
    ['put', 'a'],
    ['put', 'a', 'b', 'c'],
    ['get'],
    ['get', 'a', 'b', 'c'],
    ['put', 'a', 'b', '--help'],
    ['put', '-h', 'a', 'b'],
    ['put', 'a', 'b', '--wait', '5s'],
    ['put', 'a', 'b', '--ttl=1m'],
    ['put', 'a', 'b', '--json', '--json'],
    ['put', 'a', 'b', '--color', '--no-color'],
    ['put', 'a', 'b', '--proxy'],
    ['put', 'a', 'b', '--proxy', '--json'],
    ['put', 'a', 'b', '--proxy='],
    ['put', 'a', 'b', '--proxy', 'x', '--proxy', 'y'],
    ['put', '--', 'a', 'b'],
    ['put', 'a', 'b', '--nope'],
    ['put', 'a', 'b', '--no-json'],
    ['put', 'a', 'b', '--json=true'],
    ['put', '-qf', 'a', 'b'],
    ['put', '-x', 'a', 'b'],
    ['put', '', 'b'],
    ['put', '-1', 'b'],
    ['get', 'n', '--force'],
    ['get', 'n', '--range', '-100'],
    ['put', 'a', 'b', '--version'],
    ['write'],
    ['write', 'a', 'b'],
    ['write', 'a', '--wait', '5s'],
    ['write', 'a', '--ttl=1m'],
    ['write', 'a', '--force'],
    ['write', 'a', '--create', '--create'],
    ['write', 'a', '--no-create'],
    ['write', 'a', '--help'],
    ['write', '--', 'a'],
    ['constructor', 'a'],
    ['lock', 'n'],
    ['lock', 'n', 'true'],
    ['lock', 'n', '--'],
    ['lock', '--', 'n', 'true'],
    ['lock', 'n', 'extra', '--', 'true'],
    ['lock', 'n', '--wait', 'soon', '--', 'true'],
    ['lock', 'n', '--wait=', '--', 'true'],
    ['lock', 'n', '--wait', '1s', '--wait', '2s', '--', 'true'],
    ['lock', 'n', '-q', '--', 'true'],
    ['lock', 'n', '--help', '--', 'true'],
    ['put', 'a', 'b', '--', 'c'],
  ])
    assert.equal(quick(argv), undefined, argv.join(' '))
})

test("oclif's debugging and JSON settings in the environment, and JSON on a terminal, go to oclif", () => {
  for (const name of ['DEBUG', 'DFS_DEBUG', 'DFS_CONTENT_TYPE', 'CLI_FLAGS_DEBUG', 'OCLIF_PERFORMANCE'])
    assert.equal(quick(['put', 'a', 'b'], { [name]: '1' }), undefined, name)
  assert.ok(quick(['put', 'a', 'b'], { DEBUG: '' }))
  assert.equal(quick(['put', 'a', 'b', '--json'], {}, true), undefined)
  assert.ok(quick(['put', 'a', 'b'], {}, true))
})

test('the flags and arguments the quick path takes are the ones the commands declare to oclif', () => {
  interface ManifestFlag {
    type: 'boolean' | 'option'
    char?: string
    allowNo?: boolean
    multiple?: boolean
    default?: unknown
  }
  const manifest = JSON.parse(
    readFileSync(resolve(import.meta.dirname, '../../oclif.manifest.json'), 'utf8'),
  ) as {
    commands: Record<
      string,
      { flags: Record<string, ManifestFlag>; args: Record<string, { required?: boolean }> }
    >
  }
  for (const [id, spec] of Object.entries(QUICK_SPECS)) {
    const { flags, args } = manifest.commands[id]!
    const all = Object.values(args)
    assert.deepEqual(spec.args, [all.filter((arg) => arg.required).length, all.length], `dfs ${id} arguments`)
    for (const name of ['json', 'color', ...spec.booleans]) {
      const flag = flags[name]
      assert.equal(flag?.type, 'boolean', `dfs ${id} --${name}`)
      assert.equal(flag.allowNo, name === 'color', `dfs ${id} --${name}: --no-${name}`)
      assert.ok(!flag.default, `dfs ${id} --${name} is off unless given`)
    }
    for (const name of ['proxy', 'data', ...spec.options]) {
      const flag = flags[name]
      assert.equal(flag?.type, 'option', `dfs ${id} --${name}`)
      assert.ok(!flag.multiple && flag.default === undefined, `dfs ${id} --${name}`)
    }
    for (const name of spec.durations ?? []) {
      const flag = flags[name]
      assert.equal(flag?.type, 'option', `dfs ${id} --${name}`)
      assert.ok(!flag.multiple, `dfs ${id} --${name}`)
    }
    // A command after `--` is what oclif's non-strict parsing leaves for the command to run.
    assert.equal(spec.command === true, COMMANDS[id as QuickId].strict === false, `dfs ${id} runs a command`)
    const chars = Object.fromEntries(
      Object.entries(flags).flatMap(([name, flag]) => (flag.char ? [[flag.char, name]] : [])),
    )
    assert.deepEqual(spec.chars, chars, `dfs ${id} short flags`)
  }
  // What put --force, write and lock wait and lease for when --wait and --ttl are not given.
  for (const id of ['put', 'write', 'lock'] as const) {
    assert.equal(COMMANDS[id].flags.wait.default, LEASE_WAIT_MS, `dfs ${id} --wait`)
    assert.equal(COMMANDS[id].flags.ttl.default, LEASE_TTL_MS, `dfs ${id} --ttl`)
  }
})
