// `dfs autocomplete` (issue 15): the script it prints, sourced in a real bash (and zsh, when
// installed) and asked what to offer, as the shell asks on TAB: command names by topic, each
// command's flags from the command map, and dfs names from a running cluster through the hidden
// `dfs __complete-names`; and typed into an interactive bash and zsh on a pseudo-terminal, where TAB
// must leave names with spaces and shell-special characters on the line as the shell will parse them.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ProxyClient } from '../../src/client/proxy-client.ts'
import { COMMANDS } from '../../src/index.ts'
import { caCertPath } from '../../src/tls/ca-files.ts'
import { BIN, nodeInvocation, runCli, TestCluster, type RunResult } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'

const out = (run: RunResult) => run.stdout.toString()
const has = (shell: string) => {
  try {
    execFileSync(shell, ['-c', 'exit 0'])
    return true
  } catch {
    return false
  }
}

// Asks the completion function, as bash does on TAB: the words typed so far, the last being
// completed. Prints COMPREPLY, one a line.
const BASH_ASK = `source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
_dfs_bash
if [ \${#COMPREPLY[@]} -gt 0 ]; then printf '%s\\n' "\${COMPREPLY[@]}"; fi`

// The same in zsh, outside a completion widget: compadd, which only a widget has, prints what it
// is given instead, and compdef does nothing.
const ZSH_ASK = `compdef() { : }
compadd() {
  while [[ $1 == -* ]]; do
    if [[ $1 == -- ]]; then shift; break; fi
    if [[ $1 == -S ]]; then shift; fi
    shift
  done
  if (( $# )); then print -l -- "$@"; fi
}
_files() { print -- '(files)' }
source "$1"; shift
words=("$@"); CURRENT=$#
_dfs`

// dfs names with what a shell reads specially: spaces, quotes, $, glob and control characters,
// and the : and = at which bash splits words for completion.
const ODD_NAMES = [
  'sp ace/my file.txt',
  'sp ace/my folder/inner.txt',
  "sp ace/it's here.txt",
  'sp ace/a$b (1).txt',
  'sp ace/star*&;|.txt',
  'sp ace/dq"x`y.txt',
  'sp ace/xy:cd=ef.txt',
]

/**
 * An interactive shell on a pseudo-terminal (util-linux `script`), as a person has: keys typed go
 * through its line editor, so TAB runs the completion and the line it leaves is what the shell
 * parses on Enter. `rc` is sourced first; lines it prints are matched with `expect`.
 */
async function interactiveShell(shell: 'bash' | 'zsh', rc: string, env: NodeJS.ProcessEnv, cwd: string) {
  const start = shell === 'bash' ? 'bash --norc --noprofile -i' : 'zsh -f -i'
  const pty = spawn('script', ['-qfec', start, '/dev/null'], { env: { ...env, TERM: 'xterm' }, cwd })
  let screen = ''
  let seen = 0
  pty.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString().replaceAll('\r', '')))
  const expect = async (text: string) =>
    eventually(
      `${shell} to print ${JSON.stringify(text)} (so far: ${JSON.stringify(screen.slice(seen))})`,
      async () => {
        const at = screen.indexOf(text, seen)
        if (at < 0) return false
        seen = at + text.length
        return true
      },
    )
  const type = (keys: string) => pty.stdin.write(keys)
  type(`source '${rc}'\r`)
  // Typed as two words, printed as one: the print, not the echo of what was typed.
  type('echo RE""ADY\r')
  await expect('READY\n')
  return { type, expect, close: () => pty.kill('SIGKILL') }
}

describe('dfs autocomplete', () => {
  let dir: string
  let bash: string
  let zsh: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfs-autocomplete-'))
    for (const shell of ['bash', 'zsh']) {
      const run = await runCli(nodeInvocation, ['autocomplete', shell])
      assert.equal(run.code, 0, run.stderr)
      await writeFile(join(dir, `dfs.${shell}`), run.stdout)
    }
    bash = join(dir, 'dfs.bash')
    zsh = join(dir, 'dfs.zsh')
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  /** What bash offers for `words` (`['dfs', 'us']`: `dfs us<TAB>`), sorted. */
  const complete = (words: string[], script = bash, ask = BASH_ASK, shell = 'bash') =>
    execFileSync(shell, ['-c', ask, shell, script, ...words], { encoding: 'utf8', cwd: dir })
      .split('\n')
      .filter(Boolean)
      .sort()

  test('completes command names, by topic, and no hidden command', () => {
    assert.deepEqual(complete(['dfs', 'us']), ['user'])
    assert.deepEqual(complete(['dfs', 'user', '']), ['add', 'list', 'passwd', 'rm'])
    assert.deepEqual(complete(['dfs', 'config', '']), ['get', 'list', 'set', 'unset'])
    assert.deepEqual(complete(['dfs', 'st']), ['stat', 'status'])
    const top = complete(['dfs', ''])
    for (const word of ['put', 'get', 'user', 'node', 'token', 'group', 'config', 'autocomplete'])
      assert.ok(top.includes(word), `dfs <TAB> offers ${word}: ${top.join(' ')}`)
    assert.ok(!top.some((w) => w.startsWith('_') || w.includes(':')), top.join(' '))
    assert.deepEqual(complete(['dfs', 'bogus', '']), [])
  })

  test("completes each command's flags, as the command map declares them", () => {
    assert.deepEqual(complete(['dfs', 'put', '--fo']), ['--force'])
    for (const [id, command] of Object.entries(COMMANDS)) {
      if (command.hidden) continue
      const flags = Object.keys({ ...command.baseFlags, ...command.flags }).map((f) => `--${f}`)
      const offered = complete(['dfs', ...id.split(':'), '--'])
      for (const flag of [...flags, '--help'])
        assert.ok(offered.includes(flag), `dfs ${id.replaceAll(':', ' ')} --<TAB>: ${flag} in ${offered}`)
      // oclif's --json, or a command's own (dfs watch).
      const json = command.enableJsonFlag === true || 'json' in (command.flags ?? {})
      assert.equal(offered.includes('--json'), json, `dfs ${id.replaceAll(':', ' ')} --json`)
    }
    assert.ok(!complete(['dfs', 'version', '--']).includes('--proxy'))
    assert.deepEqual(complete(['dfs', 'autocomplete', '']), ['bash', 'zsh'])
  })

  test('a local argument completes to local files; a flag value and what follows -- to nothing', async () => {
    await writeFile(join(dir, 'report.txt'), 'r\n')
    assert.deepEqual(complete(['dfs', 'put', 'rep']), ['report.txt'])
    assert.deepEqual(complete(['dfs', 'put', '--wait', 'rep']), [])
    // bash's own split of --wait=5s rep: the value is no argument.
    assert.deepEqual(complete(['dfs', 'put', '--wait', '=', '5s', 'rep']), ['report.txt'])
    assert.deepEqual(complete(['dfs', 'put', '--wait', '=', 'rep']), [])
    assert.deepEqual(complete(['dfs', 'lock', 'counter', '--', 'rep']), [])
  })

  test(
    'the zsh script is valid zsh and offers the same',
    { skip: !has('zsh') && 'zsh is not installed' },
    () => {
      execFileSync('zsh', ['-n', zsh])
      const ask = (words: string[]) => complete(words, zsh, ZSH_ASK, 'zsh')
      assert.deepEqual(ask(['dfs', 'user', '']), ['add', 'list', 'passwd', 'rm'])
      assert.ok(ask(['dfs', 'put', '--']).includes('--force'))
      assert.deepEqual(ask(['dfs', 'put', '']), ['(files)'])
    },
  )

  test('--help says how to install it', async () => {
    const help = out(await runCli(nodeInvocation, ['autocomplete', '--help']))
    assert.ok(help.includes('dfs autocomplete bash >> ~/.bashrc'), help)
    assert.ok(help.includes('source <(dfs autocomplete bash)'), help)
    assert.ok(help.includes('dfs autocomplete zsh > "${fpath[1]}/_dfs"'), help)
  })
})

describe('dfs names in completions', () => {
  let cluster: TestCluster
  let script: string
  let bin: string

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2 })
    const generated = await cluster.run(['autocomplete', 'bash'])
    script = join(cluster.root, 'dfs.bash')
    await writeFile(script, generated.stdout)
    // The script runs `dfs`: this checkout's, first on PATH.
    bin = join(cluster.root, 'bin')
    await mkdir(bin)
    await writeFile(join(bin, 'dfs'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`, {
      mode: 0o755,
    })
    const client = new ProxyClient(cluster.proxy, readFileSync(caCertPath(cluster.data), 'utf8'))
    client.useToken((await client.login('tester', 'test-password')).token)
    const names = ['docs/a.txt', 'docs/b.txt', 'dogs.txt', 'other.txt', ...ODD_NAMES]
    for (let n = 0; n < 60; n++) names.push(`many/${String(n).padStart(2, '0')}.txt`)
    for (const name of names) await client.upload(name, Readable.from([Buffer.from(name)]), { create: true })
    await client.close()
  })
  after(async () => {
    await cluster?.stop()
  })

  const complete = async (words: string[], env: NodeJS.ProcessEnv = {}) => {
    const run = await cluster.run([], {
      invocation: { command: 'bash', prefix: ['-c', BASH_ASK, 'bash', script, ...words] },
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, ...env },
    })
    assert.equal(run.code, 0, run.stderr)
    return out(run).split('\n').filter(Boolean).sort()
  }

  test('a dfs name completes to the names and folders one level under what was typed', async () => {
    assert.deepEqual(await complete(['dfs', 'get', 'do']), ['docs/', 'dogs.txt'])
    assert.deepEqual(await complete(['dfs', 'stat', 'docs/']), ['docs/a.txt', 'docs/b.txt'])
    assert.deepEqual(await complete(['dfs', 'rm', '--json', 'docs/b']), ['docs/b.txt'])
    // put LOCAL NAME: the second argument is the dfs name, the first a local file.
    assert.deepEqual(await complete(['dfs', 'put', 'x', 'do']), ['docs/', 'dogs.txt'])
    assert.deepEqual(await complete(['dfs', 'put', '--wait', '5s', 'x', 'oth']), ['other.txt'])
    assert.ok(!(await complete(['dfs', 'put', 'do'])).includes('docs/'))
    // chown alice:staff NAME, as bash splits it: alice, :, staff are one argument.
    assert.deepEqual(await complete(['dfs', 'chown', 'alice', ':', 'staff', 'do']), ['docs/', 'dogs.txt'])
    assert.deepEqual(await complete(['dfs', 'chown', 'alice', ':', 'st']), [])
  })

  test("the candidates for a name with a space or a quote in it are quoted as bash's line needs them", async () => {
    assert.deepEqual(await complete(['dfs', 'get', 'sp\\ ace/my\\ fi']), ['sp\\ ace/my\\ file.txt'])
    // Inside a quote the user opened, readline keeps the quote and replaces what follows it.
    assert.deepEqual(await complete(['dfs', 'get', '"sp ace/it']), ["sp ace/it's here.txt"])
    assert.deepEqual(await complete(['dfs', 'get', "'sp ace/it"]), ["sp ace/it'\\''s here.txt"])
    // After a colon bash split at, only what follows the colon is replaced.
    assert.deepEqual(await complete(['dfs', 'get', 'sp\\ ace/xy', ':', 'cd', '=']), ['ef.txt'])
  })

  for (const shell of ['bash', 'zsh'] as const) {
    test(
      `names with spaces and shell-special characters complete by TAB in an interactive ${shell}`,
      { skip: !has(shell) && `${shell} is not installed` },
      async () => {
        const local = join(cluster.root, `local-${shell}`)
        await mkdir(local)
        await writeFile(join(local, 'local file (1).txt'), 'l')
        const generated = await cluster.run(['autocomplete', shell])
        const completion = join(cluster.root, `dfs.${shell}`)
        await writeFile(completion, generated.stdout)
        // dfs completes with the real program; run, it prints the arguments the shell parsed.
        const rc = join(cluster.root, `rc.${shell}`)
        await writeFile(
          rc,
          [
            "PS1='$ '",
            ...(shell === 'zsh' ? ['autoload -Uz compinit', 'compinit -u -D'] : []),
            'dfs() { if [ "$1" = __complete-names ]; then command dfs "$@"; else printf \'ARG<%s>\\n\' "$@"; echo END; fi; }',
            `source '${completion}'`,
            '',
          ].join('\n'),
        )
        const env = {
          ...process.env,
          PATH: `${bin}:${process.env.PATH ?? ''}`,
          DFS_PROXY: cluster.proxy,
          DFS_DATA: cluster.data,
          DFS_CONFIG_DIR: join(cluster.root, 'cli-config'),
          DFS_USER: 'tester',
          DFS_PASSWORD: 'test-password',
        }
        const sh = await interactiveShell(shell, rc, env, local)
        try {
          /** Types `line` (TABs in it), presses Enter, and waits for the arguments `dfs` was given. */
          const parsed = async (line: string, args: string[]) => {
            sh.type(`${line}\r`)
            await sh.expect(`${args.map((a) => `ARG<${a}>`).join('\n')}\nEND\n`)
          }
          await parsed('dfs get sp\\ ace/my\\ fi\t', ['get', 'sp ace/my file.txt'])
          await parsed('dfs get "sp ace/my fo\tin\t', ['get', 'sp ace/my folder/inner.txt'])
          await parsed("dfs get 'sp ace/it\t", ['get', "sp ace/it's here.txt"])
          await parsed('dfs get sp\\ ace/it\t', ['get', "sp ace/it's here.txt"])
          await parsed('dfs get "sp ace/a\t', ['get', 'sp ace/a$b (1).txt'])
          await parsed('dfs get sp\\ ace/a\t', ['get', 'sp ace/a$b (1).txt'])
          await parsed('dfs get sp\\ ace/st\t', ['get', 'sp ace/star*&;|.txt'])
          await parsed('dfs get "sp ace/dq\t', ['get', 'sp ace/dq"x`y.txt'])
          await parsed('dfs get sp\\ ace/dq\t', ['get', 'sp ace/dq"x`y.txt'])
          await parsed('dfs get sp\\ ace/xy:\t', ['get', 'sp ace/xy:cd=ef.txt'])
          await parsed('dfs get sp\\ ace/xy:cd=\t', ['get', 'sp ace/xy:cd=ef.txt'])
          await parsed('dfs put local\\ f\t', ['put', 'local file (1).txt'])
        } finally {
          sh.close()
        }
      },
    )
  }

  test('__complete-names prints at most 50 names', async () => {
    const run = await cluster.run(['__complete-names', 'many/'])
    assert.equal(run.code, 0, run.stderr)
    const names = out(run).split('\n').filter(Boolean)
    assert.equal(names.length, 50)
    assert.equal(names[0], 'many/00.txt')
  })

  test('not logged in, or no proxy to ask: nothing, quietly, exit 0', async () => {
    const fresh = join(cluster.root, 'cli-config-nobody')
    for (const env of [
      { DFS_CONFIG_DIR: fresh, DFS_USER: undefined, DFS_PASSWORD: undefined },
      { DFS_PROXY: 'https://127.0.0.1:1' },
      { DFS_PROXY: 'http://not-https' },
    ]) {
      const run = await cluster.run(['__complete-names', 'do'], { env })
      assert.deepEqual([run.code, out(run), run.stderr], [0, '', ''], JSON.stringify(env))
      assert.deepEqual(await complete(['dfs', 'get', 'do'], env), [], JSON.stringify(env))
    }
    assert.ok(out(await cluster.run(['__complete-names', 'do'])).includes('docs/'), 'logged in, it answers')
  })
})
