import { Flags } from '@oclif/core'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runDfsBench, renderFigures, type Figure } from '../cli/bench/dfs-bench.ts'
import { DfsWorkload } from '../cli/bench/dfs-workload.ts'
import { selfInvocation } from '../cli/children.ts'
import { duration } from '../cli/duration.ts'
import { size } from '../cli/size.ts'
import { UserCommand } from '../cli/user-command.ts'
import { normalisePrefix } from '../protocol/names.ts'

export default class Bench extends UserCommand {
  static override summary = 'Measure the cluster you are logged in to, from this machine'
  static override description =
    "Whole files through dfs put/get and the proxy's API (put, cold get, cached get), small files many in flight through the API, a shell loop of dfs put and dfs get, and the CLI's start-up. It writes only under PREFIX<random>/ and removes all it wrote at the end. `npm run bench` in the source tree runs the same next to baselines."
  static override examples = [
    '<%= config.bin %> bench',
    '<%= config.bin %> bench --size 64MiB --small-count 200 --json',
    '<%= config.bin %> bench --prefix home/alice/bench/',
  ]

  static override flags = {
    size: size({ description: 'size of the whole-file transfers', default: 1024 ** 3 }),
    runs: Flags.integer({
      description: 'rounds of every measurement (medians are shown)',
      default: 1,
      min: 1,
    }),
    'small-size': size({ description: 'size of the small files', default: 4096 }),
    'small-count': Flags.integer({
      description: 'small files put, then got, per round',
      default: 2000,
      min: 1,
    }),
    'in-flight': Flags.integer({ description: 'small requests in flight at once', default: 16, min: 1 }),
    'loop-count': Flags.integer({
      description: 'dfs put (then dfs get) processes in the sequential loop, per round',
      default: 20,
      min: 1,
    }),
    'version-runs': Flags.integer({ description: 'dfs --version runs timed', default: 10, min: 1 }),
    prefix: Flags.string({ description: 'where to write (under PREFIX<random>/)', default: 'bench/' }),
    timeout: duration({
      description: 'how long one transfer may take (e.g. 10m)',
      default: 600_000,
      min: 1000,
    }),
  }

  async run(): Promise<{ proxy: string; prefix: string; figures: Figure[] }> {
    const { flags } = await this.parse(Bench)
    const client = await this.proxy(flags)
    const endpoint = client.endpoint()
    const userArgs = [
      ...(flags.proxy ? ['--proxy', flags.proxy] : []),
      ...(flags.data ? ['--data', flags.data] : []),
    ]
    const base = normalisePrefix(flags.prefix)
    const prefix = `${base}${base === '' || base.endsWith('/') ? '' : '/'}${randomBytes(4).toString('hex')}/`
    const workload = new DfsWorkload(
      {
        proxy: endpoint,
        cli: await selfInvocation(),
        env: process.env,
        userArgs,
        timeoutMs: flags.timeout,
      },
      prefix,
    )
    const quiet = this.jsonEnabled()
    const progress = (line: string) => {
      if (!quiet) process.stderr.write(`bench: ${line}\n`)
    }
    const work = await mkdtemp(join(tmpdir(), 'dfs-bench-'))
    progress(`${endpoint.url}, writing under ${prefix}`)
    let figures: Figure[]
    try {
      figures = await runDfsBench(
        workload,
        {
          size: flags.size,
          runs: flags.runs,
          smallSize: flags['small-size'],
          smallCount: flags['small-count'],
          inFlight: flags['in-flight'],
          loopCount: flags['loop-count'],
          versionRuns: flags['version-runs'],
        },
        work,
        progress,
      )
    } finally {
      const removed = await workload.removeAll()
      progress(`removed the ${removed} names written under ${prefix}`)
      workload.close()
      await rm(work, { recursive: true, force: true })
    }
    this.say(renderFigures(figures))
    return { proxy: endpoint.url, prefix, figures }
  }
}
