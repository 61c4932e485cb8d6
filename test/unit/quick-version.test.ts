// `dfs --version` answered without oclif: only for the argument oclif treats as the version flag,
// and never when an oclif hook would run first. That its line is oclif's own is checked against
// oclif itself in test/cluster/npm-install.test.ts.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { quickVersion } from '../../src/cli/quick-version.ts'

const pkg = { name: 'dfs', version: '1.2.3', oclif: {} }

test('--version first gives the version line; anything else is left to oclif', () => {
  const line = quickVersion(['--version'], pkg)
  // Undefined on a machine that may be WSL, where oclif names the platform itself.
  if (line !== undefined) {
    assert.equal(line, `dfs/1.2.3 ${process.platform}-${process.arch} node-${process.version}`)
    assert.equal(quickVersion(['--version', 'ls'], pkg), line)
  }
  for (const argv of [[], ['ls', '--version'], ['-v'], ['version'], ['--help']])
    assert.equal(quickVersion(argv, pkg), undefined, argv.join(' '))
})

test('with oclif hooks, oclif answers (an init hook runs before it prints the version)', () => {
  assert.equal(quickVersion(['--version'], { ...pkg, oclif: { hooks: { init: './hook.js' } } }), undefined)
})

test("package.json's additional version flags (-v) are answered too; hooks other than init do not matter", () => {
  const withV = {
    ...pkg,
    oclif: { additionalVersionFlags: ['-v'], hooks: { command_not_found: './hook.js' } },
  }
  const line = quickVersion(['--version'], withV)
  if (line !== undefined) assert.equal(quickVersion(['-v'], withV), line)
  assert.equal(quickVersion(['-h'], withV), undefined)
})
