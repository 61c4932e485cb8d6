// The command line's manners (issue 15): help, versions, did-you-mean, one-line usage errors,
// NO_COLOR, a closed stdout, one duration and one size syntax, the Node version check, and `dfs get`
// into a directory. Real `dfs` processes throughout; most need no cluster (a proxy nobody serves).

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { BROKEN_PIPE_STATUS } from '../../src/cli/broken-pipe.ts'
import { COMMANDS } from '../../src/index.ts'
import { BIN, nodeInvocation, runCli, TestCluster, type RunResult } from '../helpers/cluster.ts'
import { bundledPackages, loadedFiles, loadedModulesEnv } from '../helpers/loaded-modules.ts'
// Plain JavaScript (bin/ runs before anything is compiled), type-checked through allowJs.
import { nodeTooOld, OLDEST_NODE } from '../../bin/check-node.js'

const ROOT = resolve(import.meta.dirname, '../..')
const noCluster = { DFS_PROXY: 'https://127.0.0.1:1', DFS_DATA: join(tmpdir(), 'dfs-cli-ux-no-data') }
const dfs = (args: string[], env: NodeJS.ProcessEnv = {}, closeStdout = false): Promise<RunResult> =>
  runCli(nodeInvocation, args, { env: { ...noCluster, ...env }, closeStdout })
const out = (run: RunResult) => run.stdout.toString()

describe('help and versions', () => {
  test('dfs help lists the groups and the commands; help put, put --help and put -h are one text', async () => {
    const help = await dfs(['help'])
    assert.equal(help.code, 0, help.stderr)
    for (const topic of ['user', 'node', 'token', 'group'])
      assert.match(out(help), new RegExp(`^  ${topic} `, 'm'))
    for (const command of ['put', 'get', 'status', 'lock'])
      assert.match(out(help), new RegExp(`^  ${command} `, 'm'))
    const [helpPut, longFlag, shortFlag] = await Promise.all([
      dfs(['help', 'put']),
      dfs(['put', '--help']),
      dfs(['put', '-h']),
    ])
    assert.equal(helpPut.code, 0, helpPut.stderr)
    assert.match(out(helpPut), /^USAGE\n {2}\$ dfs put LOCAL NAME/m)
    assert.match(out(helpPut), /^EXAMPLES\n/m)
    assert.equal(out(longFlag), out(helpPut))
    assert.equal(out(shortFlag), out(helpPut))
    assert.equal(shortFlag.code, 0, shortFlag.stderr)
  })

  test('every command has examples, and its help shows them', async () => {
    for (const [id, command] of Object.entries(COMMANDS))
      assert.ok((command.examples ?? []).length > 0, `dfs ${id.replaceAll(':', ' ')} has no examples`)
    for (const args of [['user', 'add'], ['token', 'create'], ['lock'], ['status']]) {
      const help = await dfs([...args, '--help'])
      const examples = out(help).split(/^EXAMPLES\n/m)[1] ?? ''
      assert.ok(examples.includes(`$ dfs ${args.join(' ')} `), `dfs ${args.join(' ')} --help`)
    }
  })

  test('a group alone, or after help, lists its commands', async () => {
    const subcommands: Record<string, string[]> = {
      user: ['add', 'list', 'passwd', 'rm'],
      node: ['drain', 'list', 'rm'],
      token: ['create', 'list', 'revoke'],
      group: ['add', 'list', 'rm'],
    }
    for (const [topic, commands] of Object.entries(subcommands)) {
      for (const args of [[topic], ['help', topic]]) {
        const run = await dfs(args)
        assert.equal(run.code, 0, run.stderr)
        for (const command of commands)
          assert.match(out(run), new RegExp(`^  ${topic} ${command} `, 'm'), `dfs ${args.join(' ')}`)
      }
    }
  })

  test('--version, -v and dfs version print one line; version --json the parts', async () => {
    const line = `dfs/${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version} `
    for (const args of [['--version'], ['-v'], ['version']]) {
      const run = await dfs(args)
      assert.equal(run.code, 0, run.stderr)
      assert.ok(out(run).startsWith(line), `dfs ${args[0]}: ${out(run)}`)
      assert.equal(out(run).split('\n').length, 2, `dfs ${args[0]}: one line`)
    }
    const json = JSON.parse(out(await dfs(['version', '--json']))) as { version: string; node: string }
    assert.equal(json.node, process.version)
  })

  test('an unknown command is one usage line, with the nearest commands', async () => {
    const cases: [string[], string][] = [
      [['stats'], 'unknown command stats; did you mean dfs stat or dfs status? (see dfs help)'],
      [['lsx'], 'unknown command lsx; did you mean dfs ls? (see dfs help)'],
      [['user', 'ad', 'bob'], 'unknown command user ad; did you mean dfs user add? (see dfs help user)'],
      [['cp', 'a', 'b'], 'unknown command cp (see dfs help)'],
      [['help', 'stauts'], 'unknown command stauts; did you mean dfs status? (see dfs help)'],
    ]
    for (const [args, message] of cases) {
      const run = await dfs(args)
      assert.equal(run.stderr, `dfs: DFS_USAGE: ${message}\n`, `dfs ${args.join(' ')}`)
      assert.equal(run.code, 2)
      assert.equal(out(run), '')
    }
  })

  test('help and versions to a reader that has gone away end quietly', async () => {
    for (const args of [['help'], ['put', '--help'], ['--version'], ['version'], ['user']]) {
      const run = await dfs(args, {}, true)
      assert.equal(run.stderr, '', `dfs ${args.join(' ')}`)
      assert.ok(run.code === 0 || run.code === BROKEN_PIPE_STATUS, `dfs ${args.join(' ')}: ${run.code}`)
    }
  })
})

describe('usage errors', () => {
  test('are one line saying what is wrong and where the help is, with status 2', async () => {
    const cases: [string[], string][] = [
      [['get'], 'missing argument NAME (see dfs get --help)'],
      [['put'], 'missing arguments LOCAL NAME (see dfs put --help)'],
      [['get', 'a', 'b', 'c'], 'unexpected argument: c (see dfs get --help)'],
      [['put', '--bogus', 'a', 'b'], 'unknown flag: --bogus (see dfs put --help)'],
      [['ls', '--proxy'], 'flag --proxy expects a value (see dfs ls --help)'],
      [['user', 'add'], 'missing argument USER (see dfs user add --help)'],
      [
        ['put', '-', 'a', '--wait', '5q'],
        '--wait: not a duration: 5q (try 500ms, 30s, 5m, 1h) (see dfs put --help)',
      ],
      [['proxy', '--port', '1'], 'missing flag --id (see dfs proxy --help)'],
    ]
    for (const [args, message] of cases) {
      const run = await dfs(args)
      assert.equal(run.stderr, `dfs: DFS_USAGE: ${message}\n`, `dfs ${args.join(' ')}`)
      assert.equal(run.code, 2, `dfs ${args.join(' ')}`)
    }
  })
})

describe('colour', () => {
  // Colour needs a terminal: script(1) gives the command one.
  const script = ['/usr/bin/script', '/bin/script'].find((path) => existsSync(path))
  const onTerminal = (args: string[], env: NodeJS.ProcessEnv = {}): string => {
    const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ')
    const environment: NodeJS.ProcessEnv = { ...process.env, ...noCluster, TERM: 'xterm', ...env }
    delete environment.FORCE_COLOR
    // A person at a terminal, not a CI job (chalk and ora turn colour and redrawing off under CI).
    delete environment.CI
    try {
      return execFileSync(script!, ['-qec', command, '/dev/null'], { env: environment, encoding: 'utf8' })
    } catch (error) {
      return String((error as { stdout?: string }).stdout)
    }
  }
  const red = '\u001b[31m'

  test(
    'the error prefix is red on a terminal, and plain with NO_COLOR or --no-color',
    { skip: !script },
    () => {
      const coloured = onTerminal(['get'])
      assert.ok(coloured.includes(`${red}dfs: DFS_USAGE:`), JSON.stringify(coloured))
      for (const [args, env] of [
        [['get'], { NO_COLOR: '1' }],
        [['get', '--no-color'], {}],
        [['ls', '--no-color'], {}],
      ] as const) {
        const plain = onTerminal([...args], env)
        assert.match(plain, /dfs: DFS_(USAGE|UNAVAILABLE):/, JSON.stringify(plain))
        assert.ok(
          !plain.includes('\u001b['),
          `dfs ${args.join(' ')} ${JSON.stringify(env)}: ${JSON.stringify(plain)}`,
        )
      }
    },
  )
})

describe('durations and sizes', () => {
  type AnyFlag = {
    type: string
    description?: string
    parse?: (input: string, ...rest: unknown[]) => Promise<unknown>
  }
  const optionFlags = Object.entries(COMMANDS).flatMap(([id, command]) =>
    Object.entries({ ...(command.baseFlags ?? {}), ...(command.flags ?? {}) } as unknown as Record<
      string,
      AnyFlag
    >)
      .filter(([, flag]) => flag.type === 'option')
      .map(([name, flag]) => ({ id, name, flag })),
  )
  const parse = (flag: AnyFlag, input: string) => flag.parse!(input, {}, flag)
  // How the flags' descriptions speak of a time; every command's help is worded so.
  const isTime = /\b(seconds|minutes|how long|how often|pause|silence|time|this long|this far back)\b/i

  test('every time flag reads 500ms, 30s, 5m, 1h, and a bare number as seconds', async () => {
    const timeFlags = optionFlags.filter(({ flag }) => isTime.test(flag.description ?? ''))
    const names = new Set(timeFlags.map(({ name }) => name))
    for (const name of [
      'heartbeat',
      'live-after',
      'dead-after',
      'scrub-every',
      'wait',
      'ttl',
      'timeout',
      'since',
    ])
      assert.ok(names.has(name), `--${name} is among the time flags found`)
    for (const { id, name, flag } of timeFlags) {
      const where = `dfs ${id} --${name}`
      assert.equal(await parse(flag, '15'), 15_000, where)
      assert.equal(await parse(flag, '2s'), 2000, where)
      assert.equal(await parse(flag, '5m'), 300_000, where)
      assert.equal(await parse(flag, '1h'), 3_600_000, where)
      assert.equal(await parse(flag, '1500ms'), 1500, where)
    }
  })

  test('every size flag reads 64KiB, 500MB, 1GiB, and a bare number as bytes', async () => {
    const sizeFlags = optionFlags.filter(({ name }) => /size|rate/.test(name) && name !== 'repair-rate')
    assert.ok(sizeFlags.length >= 4, sizeFlags.map((f) => f.name).join(' '))
    for (const { id, name, flag } of sizeFlags) {
      const where = `dfs ${id} --${name}`
      assert.equal(await parse(flag, '4096'), 4096, where)
      assert.equal(await parse(flag, '64KiB'), 65_536, where)
      assert.equal(await parse(flag, '500MB'), 500e6, where)
      assert.equal(await parse(flag, '1GiB'), 1024 ** 3, where)
    }
  })

  test('help shows defaults as durations and sizes, not milliseconds and bytes', async () => {
    const help = out(await dfs(['fileserver', '--help']))
    assert.match(help, /--heartbeat=<value>\s+\[default: 2s\]/)
    assert.match(help, /--scrub-every=<value>\s+\[default: 1h\]/)
    assert.match(help, /--scrub-rate=<value>\s+\[default: 32MiB\]/)
    assert.match(out(await dfs(['directory', '--help'])), /--live-after=<value>\s+\[default: 15s\]/)
    assert.match(out(await dfs(['put', '--help'])), /--ttl=<value>\s+\[default: 30s\]/)
  })

  test('a bad duration on a role is a usage error naming the flag, before anything starts', async () => {
    const data = await mkdtemp(join(tmpdir(), 'dfs-cli-ux-'))
    try {
      for (const [role, flag] of [
        ['fileserver', '--heartbeat'],
        ['directory', '--live-after'],
        ['directory', '--dead-after'],
      ]) {
        const args = [role!, '--port', '0', '--id', '1', flag!, '2x', '--data', data]
        if (role === 'directory') args.splice(3, 2)
        const run = await dfs(args)
        assert.equal(
          run.stderr,
          `dfs: DFS_USAGE: ${flag}: not a duration: 2x (try 500ms, 30s, 5m, 1h) (see dfs ${role} --help)\n`,
        )
        assert.equal(run.code, 2)
      }
    } finally {
      await rm(data, { recursive: true, force: true })
    }
  })
})

describe('the Node version check', () => {
  test('names the version needed and the one running, for versions older than engines', () => {
    const engines = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node
    assert.equal(engines, `>=${OLDEST_NODE}`)
    for (const old of ['18.20.4', '20.20.2', '22.12.0', '21.99.0'])
      assert.match(
        nodeTooOld(old) ?? '',
        new RegExp(
          `^dfs: Node.js ${OLDEST_NODE.replace('.', '\\.')} or newer is needed \\(this is v${old.replaceAll('.', '\\.')}\\); install Node.js 24 LTS from https://nodejs.org`,
        ),
      )
    for (const fine of ['22.13.0', '22.20.1', '23.0.0', '24.21.0', '100.0.0'])
      assert.equal(nodeTooOld(fine), undefined, fine)
  })

  // The machine's own Node, when it is an old one (Node 20 on the CI image).
  const system = '/usr/bin/node'
  const systemVersion = existsSync(system)
    ? execFileSync(system, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
    : ''
  const old = systemVersion !== '' && nodeTooOld(systemVersion) !== undefined

  test(
    `on an old Node (${system} ${systemVersion || 'absent'}), dfs and the build say so in one line`,
    { skip: !old },
    async () => {
      for (const script of [BIN, join(ROOT, 'scripts', 'check-node.js')]) {
        const run = await runCli({ command: system, prefix: [script] }, ['--version'])
        assert.equal(run.stderr, `${nodeTooOld(systemVersion)}\n`, script)
        assert.equal(run.code, 1)
        assert.equal(out(run), '')
      }
    },
  )
})

describe('with a cluster', () => {
  let cluster: TestCluster

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 2 })
  })
  after(async () => {
    await cluster?.stop()
  })

  test("writes NAME's last part inside an existing directory, or a path ending in /", async () => {
    const put = await cluster.run(['put', '-', 'docs/report.txt'], { input: 'the report\n' })
    assert.equal(put.code, 0, put.stderr)
    const existing = join(cluster.root, 'downloads')
    await mkdir(existing)
    for (const [local, written] of [
      [existing, join(existing, 'report.txt')],
      [`${existing}/`, join(existing, 'report.txt')],
      [join(existing, 'renamed.txt'), join(existing, 'renamed.txt')],
    ] as const) {
      await rm(written, { force: true })
      const get = await cluster.run(['get', 'docs/report.txt', local])
      assert.equal(get.code, 0, get.stderr)
      assert.equal(await readFile(written, 'utf8'), 'the report\n')
      assert.ok(out(get).includes(`-> ${written}: 11 bytes`), out(get))
    }
    const missing = await cluster.run(['get', 'docs/report.txt', join(cluster.root, 'no-such-dir') + '/'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /no-such-dir/)
  })

  test('a get into a named pipe or /dev/null writes through it and leaves it what it was', async () => {
    const put = await cluster.run(['put', '-', 'docs/piped.txt'], { input: 'through the pipe\n' })
    assert.equal(put.code, 0, put.stderr)
    // A rename into place would have replaced the pipe (or, as root, /dev/null) with a regular file.
    const fifo = join(cluster.root, 'a-pipe')
    execFileSync('mkfifo', [fifo])
    // The reader is a process, so that it can be stopped if the pipe was replaced under it.
    const reader = spawn('cat', [fifo])
    let read = ''
    reader.stdout.on('data', (chunk: Buffer) => (read += chunk.toString()))
    const readerDone = new Promise((resolve) => reader.once('close', resolve))
    const get = await cluster.run(['get', 'docs/piped.txt', fifo])
    const stillPipe = (await stat(fifo)).isFIFO()
    if (!stillPipe) reader.kill()
    await readerDone
    assert.equal(get.code, 0, get.stderr)
    assert.ok(stillPipe, 'the pipe is still a pipe')
    assert.equal(read, 'through the pipe\n')
    const devNull = await cluster.run(['get', 'docs/piped.txt', '/dev/null'])
    assert.equal(devNull.code, 0, devNull.stderr)
    assert.ok((await stat('/dev/null')).isCharacterDevice(), '/dev/null is still a device')
    assert.deepEqual(
      (await readdir(cluster.root)).filter((entry) => entry.includes('.dfs-')),
      [],
      'no temp file left',
    )
  })

  test('put, get, write and lock without oclif (the quick path) print, fail and exit as they do through oclif', async () => {
    const put = await cluster.run(['put', '-', 'quick/a.txt'], { input: 'quick path\n' })
    assert.equal(put.code, 0, put.stderr)
    const record = join(cluster.root, 'quick-modules.txt')
    // {dir}: a directory of each run's own, for what get writes; {dir} again in what it prints. {side}:
    // the name of that directory, for a name in dfs that each run makes anew.
    const cases: { args: string[]; input?: string; env?: NodeJS.ProcessEnv }[] = [
      { args: ['put', '-', 'quick/a.txt', '--force'], input: 'again\n' },
      { args: ['put', '--json', '-', 'quick/a.txt', '--force', '-q'], input: 'again\n' },
      { args: ['put', '-', 'quick/a.txt'], input: 'refused\n' },
      { args: ['put', '-', 'quick/a.txt', '--json'], input: 'refused\n' },
      { args: ['put', '--no-color', join(cluster.root, 'no-such-file'), 'quick/b.txt'] },
      { args: ['put', '-', '../outside'], input: 'x' },
      { args: ['put', '-', 'quick/c.txt', '--proxy', 'https://127.0.0.1:1'], input: 'x' },
      { args: ['put', '-', 'quick/c.txt', '--proxy=http://127.0.0.1:1'], input: 'x' },
      { args: ['get', 'quick/a.txt', '-'] },
      { args: ['get', 'quick/a.txt'] },
      { args: ['get', 'quick/a.txt', '-', '--range', '1-3'] },
      { args: ['get', 'quick/a.txt', '{dir}/'] },
      { args: ['get', 'quick/a.txt', '{dir}/a.txt', '--json'] },
      { args: ['get', 'quick/a.txt', '{dir}/a.txt', '--offline'] },
      { args: ['get', 'quick/a.txt', '-', '--json'] },
      { args: ['get', 'quick/a.txt', '-', '--range', 'x'] },
      { args: ['get', 'quick/none', '{dir}/none', '--json'] },
      { args: ['write', 'quick/a.txt'], input: 'written\n' },
      { args: ['write', '-q', 'quick/a.txt', '--json'], input: 'written\n' },
      { args: ['write', '--create', 'quick/new-{side}.txt'], input: 'new\n' },
      { args: ['write', 'quick/none'], input: 'refused\n' },
      { args: ['write', 'quick/none', '--json'], input: 'refused\n' },
      { args: ['write', '../outside'], input: 'x' },
      { args: ['write', 'quick/a.txt', '--proxy', 'https://127.0.0.1:1'], input: 'x' },
      { args: ['lock', 'quick/a.txt', '--', 'sh', '-c', 'echo "held $DFS_LOCK_NAME"'] },
      { args: ['lock', 'quick/a.txt', '--wait', '5s', '--json', '--', 'sh', '-c', 'echo to stderr; exit 3'] },
      { args: ['lock', 'quick/a.txt', '--ttl=30s', '--', join(cluster.root, 'no-such-command')] },
      { args: ['lock', '../outside', '--', 'true'] },
      // Inside `dfs lock` the write takes the lock's lease from the environment. Only the write
      // records the modules it loads, in {record} (the lock is told not to).
      {
        args: [
          'lock',
          'quick/a.txt',
          '--',
          'sh',
          '-c',
          "echo locked | DFS_TEST_MODULES='{record}' dfs write quick/a.txt",
        ],
        env: await dfsOnPath(),
      },
    ]
    for (const { args, input, env: caseEnv } of cases) {
      const runs = []
      for (const oclif of [false, true]) {
        const side = oclif ? 'through-oclif' : 'quick-path'
        const dir = join(cluster.root, side)
        await mkdir(dir, { recursive: true })
        // A command line that names {record} tells the process that records: this one must not.
        const recordHere = !args.some((arg) => arg.includes('{record}'))
        const recording = { ...loadedModulesEnv(record), ...(recordHere ? {} : { DFS_TEST_MODULES: '' }) }
        const env = { ...caseEnv, ...(oclif ? { DFS_UNBUNDLED: '1' } : recording) }
        // A record left by an earlier case must not stand in for one this run failed to write.
        await rm(record, { force: true })
        const run = await cluster.run(
          args.map((arg) => arg.replace('{dir}', dir).replace('{side}', side).replace('{record}', record)),
          { input: input ?? '', env },
        )
        const same = (text: string) =>
          text
            .replaceAll(dir, '{dir}')
            .replaceAll(side, '{side}')
            .replace(/"(version|mtime|token|since)": \d+/g, '"$1": N')
            .replace(/version \d+/g, 'version N')
        runs.push({ code: run.code, stdout: same(out(run)), stderr: same(run.stderr) })
        if (!oclif) {
          const packages = bundledPackages(loadedFiles(record))
          assert.ok(!packages.has('@oclif/core'), `dfs ${args.join(' ')} loaded oclif`)
          // ky reads WHATWG Request as it loads, which costs a fifth of a small command's CPU.
          if (!args.includes('--range'))
            assert.ok(
              !packages.has('ky'),
              `dfs ${args.join(' ')} loaded ky: ${loadedFiles(record).join(' ')}`,
            )
        }
      }
      assert.deepEqual(runs[0], runs[1], `dfs ${args.join(' ')}`)
    }
  })

  /** The environment whose PATH finds this checkout's dfs first, for shell lines that run `dfs`. */
  async function dfsOnPath(): Promise<NodeJS.ProcessEnv> {
    const bin = join(cluster.root, 'bin')
    await mkdir(bin, { recursive: true })
    await writeFile(join(bin, 'dfs'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`, {
      mode: 0o755,
    })
    return { PATH: `${bin}:${process.env.PATH ?? ''}` }
  }

  /** Runs a shell line as the README shows it, with this checkout's dfs first on PATH. */
  async function shell(line: string): Promise<RunResult> {
    return cluster.run([], {
      invocation: { command: '/bin/sh', prefix: ['-c', line] },
      env: await dfsOnPath(),
    })
  }

  test("the README's lock example runs as written on a fresh name, and counts", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const block = /### Write mode[^]*?```sh\n([^]*?)```/.exec(readme)?.[1] ?? ''
    const lines = block
      .split('\n')
      .filter((line) => /^(echo 0 \| dfs put - counter|dfs lock counter|dfs stat counter)/.test(line))
    assert.equal(lines.length, 3, block)
    for (const line of lines) {
      const run = await shell(line)
      assert.equal(run.code, 0, `${line}: ${run.stderr}`)
    }
    assert.equal((await shell('dfs get counter -')).stdout.toString(), '1\n')
    const again = await shell(lines[1]!)
    assert.equal(again.code, 0, again.stderr)
    assert.equal((await shell('dfs get counter -')).stdout.toString(), '2\n')
  })

  test('dfs lock --json prints one document after the command, whose output goes to stderr', async () => {
    const run = await cluster.run([
      'lock',
      'counter',
      '--json',
      '--',
      'sh',
      '-c',
      'echo "$DFS_LOCK_NAME"; exit 3',
    ])
    assert.equal(run.code, 3, run.stderr)
    assert.equal(run.stderr, 'counter\n')
    const result = JSON.parse(run.stdout.toString()) as Record<string, unknown>
    assert.deepEqual(Object.keys(result).sort(), ['name', 'since', 'status', 'token'])
    assert.equal(result.name, 'counter')
    assert.equal(result.status, 3)
    assert.equal(typeof result.token, 'number')
  })

  test('dfs status words the cache by its counters: 1 miss, not 1 misses, and bytes read out of it, not "from hits"', async () => {
    const put = await cluster.run(['put', '-', 'cache/one.txt'], { input: 'cached once\n' })
    assert.equal(put.code, 0, put.stderr)
    assert.equal((await cluster.run(['get', 'cache/one.txt', '-'])).code, 0)
    const json = JSON.parse((await cluster.run(['status', '--json'])).stdout.toString()) as {
      proxy: { cache: { hits: number; misses: number; entries: number } }
    }
    const { hits, misses, entries } = json.proxy.cache
    const line =
      out(await cluster.run(['status']))
        .split('\n')
        .find((l) => l.startsWith('proxy cache:')) ?? ''
    const noun = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`
    assert.ok(line?.startsWith(`proxy cache: ${noun(entries, 'file', 'files')}, `), line)
    assert.ok(line.includes(`; ${noun(hits, 'hit', 'hits')}, ${noun(misses, 'miss', 'misses')}; `), line)
    assert.match(line, /fetched into it from file servers, [\d.]+ [KMG]?i?B read out of it; /)
    assert.ok(!line.includes('served from cache'), line)
  })
})
