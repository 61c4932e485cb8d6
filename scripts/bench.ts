// `npm run bench`: dfs on every path, each figure next to baselines measured in the same run on the
// same machine (absolute figures on a shared machine do not repeat), with the ratio and the issue's
// target for it. One table; `--json` prints the same as one JSON document instead.
//
// dfs: a TestCluster (a directory, 3 file servers, R=2, 1 proxy), driven by the workload `dfs bench`
// runs (src/cli/bench): whole files (BENCH_SIZE_MIB, 1 GiB by default) through `dfs put`/`dfs get`
// and through the proxy's API (PUT/GET /v1/files with a bearer token): a put, a cold get (a file
// the proxy has not cached, and whose copies on the file servers are out of the page cache) and a
// cached get (the same again, from the proxy's cache); 4 KiB files, 16 in flight over kept-alive
// connections through the API; a sequential loop of `dfs put` and `dfs get` processes, as a shell
// loop runs them, logged in as a user is; `dfs --version` next to `node -e 0`; and the peak RSS of
// every process.
// Baselines (bench-baselines.ts): a plain node:https server (fsync, rename, directory fsync for
// every PUT) and nginx over TLS (WebDAV PUT, no fsync), both read cold and cached the same way.
//
// Every whole file is new content, so nothing is served from what an earlier one left behind. Runs
// interleave baselines and dfs (and alternate which goes first), so a noisy neighbour slows both.
// Transfers are timed from the client's side: CLI figures include starting the CLI.
//
// Environment: BENCH_SIZE_MIB (default 1024), BENCH_RUNS (default 3; medians are reported),
// BENCH_TIMEOUT_S (default 600: a single transfer that takes longer aborts the benchmark),
// BENCH_SMALL_OPS (default 2000 each way), BENCH_LOOP_OPS (default 30 each way, per run),
// BENCH_HUGE_MIB (default 10240, for --huge), BENCH_DEBUG (a failure prints its whole error).
// Flags: --json; --huge adds a 10 GiB put and get (one run; needs about 40 GiB of disk);
// --names runs the namespace-scale benchmark instead (bench-names.ts).
// Progress goes to stderr.

import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TestCluster } from '../test/helpers/cluster.ts'
import { mbPerSecond, sizeText } from '../src/cli/bench/dfs-bench.ts'
import {
  DfsWorkload,
  distinct,
  largeRound,
  writeRandomFile,
  type LargeRound,
  type Transfer,
} from '../src/cli/bench/dfs-workload.ts'
import { downloadFile, uploadFile, type Endpoint } from '../src/cli/bench/https-load.ts'
import { treePeakBytes } from '../src/cli/bench/proc.ts'
import type { Throughput } from '../src/cli/bench/stats.ts'
import { timedRun } from '../src/cli/bench/timed-run.ts'
import {
  baselineServer,
  commandPath,
  dropFromPageCache,
  loopBaseline,
  smallBaseline,
  startBaselineServer,
  startNginx,
  type BaselineServer,
  type Nginx,
} from './bench-baselines.ts'
import { machine, renderReport, reportJson, type Heading, type Row, type Series } from './bench-report.ts'

const MiB = 1024 * 1024
const MB = 1e6
const ROOT = resolve(import.meta.dirname, '..')
const IN_FLIGHT = 16
const SMALL = 4096
const VERSION_RUNS = 10

// ---------------------------------------------------------------------------------------------------
// Clean-up that runs however the benchmark ends

const cleanups: (() => Promise<void>)[] = []
let cleaning: Promise<void> | undefined

function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn)
}

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn()
      } catch (error) {
        process.stderr.write(`bench: clean-up step failed: ${(error as Error).message}\n`)
      }
    }
  })()
  return cleaning
}

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be an integer >= ${min}, not ${raw}`)
  return value
}

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`)
}

const rate = (t: { size: number; seconds: number }) => `${mbPerSecond(t).toFixed(0)} MB/s`

// ---------------------------------------------------------------------------------------------------
// Series: what each row collects over the runs

function series(): Series {
  return { runs: [] }
}

function addTransfer(s: Series, t: { size: number; seconds: number }): void {
  s.runs.push(t.size / MB / t.seconds)
}

function addThroughput(s: Series, t: Throughput): void {
  s.runs.push(t.perSecond)
  ;(s.p50Ms ??= []).push(t.p50Ms)
  ;(s.p99Ms ??= []).push(t.p99Ms)
}

const LARGE_KEYS = ['cliPut', 'apiPut', 'cliColdGet', 'apiColdGet', 'cliCachedGet', 'apiCachedGet'] as const
type LargeKey = (typeof LARGE_KEYS)[number]

/** Which baseline transfer a dfs whole-file row stands next to. */
const LARGE_BASELINE: Record<LargeKey, 'put' | 'coldGet' | 'cachedGet'> = {
  cliPut: 'put',
  apiPut: 'put',
  cliColdGet: 'coldGet',
  apiColdGet: 'coldGet',
  cliCachedGet: 'cachedGet',
  apiCachedGet: 'cachedGet',
}

// ---------------------------------------------------------------------------------------------------
// Baseline steps

interface Baselines {
  server: BaselineServer
  nginx?: Nginx
  ca: string
  caFile: string
  timeoutMs: number
}

/** Whole-file PUT, cold GET and cached GET against one baseline server. */
async function baselineLarge(
  label: string,
  put: { url: string; expectJson: boolean },
  stored: string,
  getUrl: string,
  source: string,
  sha256: string,
  base: Baselines,
  work: string,
): Promise<{ put: Transfer; coldGet: Transfer; cachedGet: Transfer }> {
  const endpoint: Endpoint = { ca: base.ca, timeoutMs: base.timeoutMs }
  const { size } = await stat(source)
  const sent = await uploadFile('PUT', put.url, source, endpoint)
  if (sent.status >= 300) throw new Error(`${label} PUT: HTTP ${sent.status}: ${sent.text}`)
  if (put.expectJson) {
    const answer = JSON.parse(sent.text) as { sha256: string; size: number }
    if (answer.sha256 !== sha256) throw new Error(`${label} PUT stored sha256 ${answer.sha256}`)
  } else if ((await stat(stored)).size !== size) {
    throw new Error(`${label} PUT stored ${(await stat(stored)).size} bytes, not ${size}`)
  }
  const out = join(work, `${label.replace(/\W+/g, '-')}.out`)
  await dropFromPageCache(stored)
  const get = async () => {
    const got = await downloadFile(getUrl, out, endpoint)
    if (got.sha256 !== sha256) throw new Error(`${label} GET: sha256 ${got.sha256}, expected ${sha256}`)
    return got
  }
  const coldGet = await get()
  const cachedGet = await get()
  const result = { put: { ...sent, sha256, size }, coldGet, cachedGet }
  progress(`${label}: PUT ${rate(result.put)}, cold GET ${rate(coldGet)}, cached GET ${rate(cachedGet)}`)
  return result
}

// ---------------------------------------------------------------------------------------------------
// The benchmark

interface Options {
  json: boolean
  huge: boolean
}

async function main(options: Options): Promise<void> {
  const sizeMiB = envInt('BENCH_SIZE_MIB', 1024, 1)
  const runs = envInt('BENCH_RUNS', 3, 1)
  const smallOps = envInt('BENCH_SMALL_OPS', 2000, 1)
  const loopOps = envInt('BENCH_LOOP_OPS', 30, 1)
  const hugeMiB = envInt('BENCH_HUGE_MIB', 10240, 1)
  const timeoutMs = envInt('BENCH_TIMEOUT_S', 600, 1) * 1000
  const size = sizeMiB * MiB
  const startedAt = Date.now()
  const loadAtStart = loadavg()

  try {
    await stat(join(ROOT, 'dist', 'index.js'))
  } catch {
    throw new Error('dist/ is missing: run npm run build first (bin/run.js runs the compiled code)')
  }
  const { TestCluster } = await import('../test/helpers/cluster.ts')
  const { makeCa, issueNodeCert } = await import('../src/tls/ca.ts')
  const { readCaCert } = await import('../src/tls/ca-files.ts')
  const { ProxyClient } = await import('../src/client/proxy-client.ts')

  const work = await mkdtemp(join(tmpdir(), 'dfs-bench-'))
  onCleanup(() => rm(work, { recursive: true, force: true }))
  const serverDir = join(work, 'baseline-server')
  const nginxDir = join(work, 'nginx')
  await mkdir(serverDir)
  await mkdir(nginxDir)

  progress(`${sizeText(size)} x ${runs} runs; writing a random file in ${work}`)
  const source = join(work, 'source.bin')
  await writeRandomFile(source, size)

  // Baseline TLS material from the project's own CA code; the client trusts that CA and nothing else.
  const ca = makeCa()
  const pair = issueNodeCert(ca, { role: 'directory', id: 0 })
  const tls = { cert: join(serverDir, 'server.crt'), key: join(serverDir, 'server.key'), ca: ca.cert }
  await writeFile(tls.cert, pair.cert)
  await writeFile(tls.key, pair.key, { mode: 0o600 })
  const caFile = join(work, 'baseline-ca.crt')
  await writeFile(caFile, ca.cert)

  const server = await startBaselineServer(import.meta.filename, serverDir, onCleanup)
  progress(`baseline server (node:https) at ${server.url}`)
  const nginxBinary = await commandPath('nginx')
  let nginx: Nginx | undefined
  let nginxSkipped = 'not installed'
  if (nginxBinary) {
    const started = await startNginx(nginxBinary, nginxDir, tls, onCleanup)
    if ('skipped' in started) nginxSkipped = started.skipped
    else nginx = started
  }
  progress(nginx ? `nginx ${nginx.version} at ${nginx.url}` : `no nginx figures: ${nginxSkipped}`)
  const base: Baselines = { server, nginx, ca: ca.cert, caFile, timeoutMs }

  progress('starting a dfs cluster: directory, 3 file servers (R=2), 1 proxy')
  const cluster: TestCluster = await TestCluster.start({ fileservers: 3, proxies: 1 })
  onCleanup(() => cluster.stop())
  // The CLI as a logged-in user runs it: the session TestCluster saved (in cli-config) and nothing
  // else, so no command logs in again or checks the password.
  const cliEnv: NodeJS.ProcessEnv = { ...process.env, DFS_CONFIG_DIR: join(cluster.root, 'cli-config') }
  for (const name of [
    'DFS_PROXY',
    'DFS_USER',
    'DFS_PASSWORD',
    'DFS_CA',
    'DFS_DATA',
    'NODE_TLS_REJECT_UNAUTHORIZED',
  ])
    delete cliEnv[name]
  const clusterCa = await readCaCert(cluster.data)
  if (!clusterCa) throw new Error('the cluster has no CA')
  const session = await new ProxyClient(cluster.proxy, clusterCa).login('tester', 'test-password')
  const workload = new DfsWorkload(
    {
      proxy: { url: cluster.proxy, ca: clusterCa, headers: { authorization: `Bearer ${session.token}` } },
      cli: cluster.invocation,
      env: cliEnv,
      userArgs: [],
      timeoutMs,
    },
    `bench/${randomBytes(4).toString('hex')}/`,
  )
  onCleanup(async () => workload.close())
  // Cold means cold on the file servers too: their copies out of the page cache.
  const coldOnServers = async (sha256: string) => {
    for (const id of cluster.fileservers.keys()) {
      const blob = cluster.blobPath(id, sha256)
      if (existsSync(blob)) await dropFromPageCache(blob)
    }
  }

  // Warm-up: every path once, so no figure pays for a first connection or a first compile.
  progress('warming up')
  const tiny = join(work, 'tiny.bin')
  await writeFile(tiny, randomBytes(SMALL))
  const warm = await workload.cliPut(tiny, workload.name('warmup'))
  await workload.cliGet(workload.name('warmup'), join(work, 'warmup.out'), warm.sha256)
  await workload.smallPuts('warmup-small', 32, SMALL, IN_FLIGHT)
  await workload.smallGets('warmup-small', IN_FLIGHT)
  await smallBaseline((i) => `${server.url}/small/warmup-${i}`, ca.cert, {
    count: 32,
    size: SMALL,
    concurrency: IN_FLIGHT,
  })
  if (nginx) {
    const url = nginx.url
    await smallBaseline((i) => `${url}/dav/small/warmup-${i}`, ca.cert, {
      count: 32,
      size: SMALL,
      concurrency: IN_FLIGHT,
    })
  }

  // Whole files.
  const large = Object.fromEntries(LARGE_KEYS.map((key) => [key, series()])) as Record<LargeKey, Series>
  const nodeLarge = { put: series(), coldGet: series(), cachedGet: series() }
  const nginxLarge = { put: series(), coldGet: series(), cachedGet: series() }
  let cliPeak = { put: 0, get: 0 }
  const baselineLargeSteps = async () => {
    const sha256 = await distinct(source)
    const node = await baselineLarge(
      'node https',
      { url: `${server.url}/upload`, expectJson: true },
      server.blob,
      `${server.url}/blob.bin`,
      source,
      sha256,
      base,
      work,
    )
    for (const key of ['put', 'coldGet', 'cachedGet'] as const) addTransfer(nodeLarge[key], node[key])
    if (!nginx) return
    const viaNginx = await baselineLarge(
      'nginx',
      { url: `${nginx.url}/dav/blob.bin`, expectJson: false },
      join(nginx.davDir, 'blob.bin'),
      `${nginx.url}/dav/blob.bin`,
      source,
      sha256,
      base,
      work,
    )
    for (const key of ['put', 'coldGet', 'cachedGet'] as const) addTransfer(nginxLarge[key], viaNginx[key])
  }
  const dfsLargeSteps = async (run: number) => {
    const round: LargeRound = await largeRound(workload, source, `large-${run}`, work, {
      beforeColdGet: coldOnServers,
      progress,
    })
    for (const key of LARGE_KEYS) addTransfer(large[key], round[key])
    cliPeak = {
      put: Math.max(cliPeak.put, round.cliPut.peakRss ?? 0),
      get: Math.max(cliPeak.get, round.cliColdGet.peakRss ?? 0, round.cliCachedGet.peakRss ?? 0),
    }
  }
  for (let run = 1; run <= runs; run++) {
    progress(`run ${run} of ${runs}: whole files`)
    if (run % 2 === 1) {
      await baselineLargeSteps()
      await dfsLargeSteps(run)
    } else {
      await dfsLargeSteps(run)
      await baselineLargeSteps()
    }
  }

  // Small files, 16 in flight.
  const small = { put: series(), get: series() }
  const nodeSmall = { put: series(), get: series() }
  const nginxSmall = { put: series(), get: series() }
  const smallOptions = { count: smallOps, size: SMALL, concurrency: IN_FLIGHT }
  const baselineSmallSteps = async (run: number) => {
    const node = await smallBaseline((i) => `${server.url}/small/r${run}-${i}`, ca.cert, smallOptions)
    addThroughput(nodeSmall.put, node.put)
    addThroughput(nodeSmall.get, node.get)
    let line = `node https ${node.put.perSecond.toFixed(0)} puts/s, ${node.get.perSecond.toFixed(0)} gets/s`
    if (nginx) {
      const url = nginx.url
      const viaNginx = await smallBaseline((i) => `${url}/dav/small/r${run}-${i}`, ca.cert, smallOptions)
      addThroughput(nginxSmall.put, viaNginx.put)
      addThroughput(nginxSmall.get, viaNginx.get)
      line += `; nginx ${viaNginx.put.perSecond.toFixed(0)} puts/s, ${viaNginx.get.perSecond.toFixed(0)} gets/s`
    }
    progress(`run ${run}: ${smallOps} x 4 KiB, ${IN_FLIGHT} in flight: ${line}`)
  }
  const dfsSmallSteps = async (run: number) => {
    const put = await workload.smallPuts(`small-${run}`, smallOps, SMALL, IN_FLIGHT)
    const get = await workload.smallGets(`small-${run}`, IN_FLIGHT)
    addThroughput(small.put, put)
    addThroughput(small.get, get)
    progress(
      `run ${run}: ${smallOps} x 4 KiB through the proxy API: ${put.perSecond.toFixed(0)} puts/s, ${get.perSecond.toFixed(0)} gets/s`,
    )
  }

  // A process per operation.
  const loop = { put: series(), get: series() }
  const nodeLoop = { put: series(), get: series() }
  const nginxLoop = { put: series(), get: series() }
  const loopOptions = { count: loopOps, size: SMALL, timeoutMs: 60_000 }
  const baselineLoopSteps = async (run: number) => {
    const node = await loopBaseline((i) => `${server.url}/small/loop-${run}-${i}`, caFile, work, loopOptions)
    addThroughput(nodeLoop.put, node.put)
    addThroughput(nodeLoop.get, node.get)
    if (nginx) {
      const url = nginx.url
      const viaNginx = await loopBaseline((i) => `${url}/dav/loop/${run}-${i}`, caFile, work, loopOptions)
      addThroughput(nginxLoop.put, viaNginx.put)
      addThroughput(nginxLoop.get, viaNginx.get)
    }
    progress(
      `run ${run}: one-request node processes: ${node.put.perSecond.toFixed(1)} puts/s, ${node.get.perSecond.toFixed(1)} gets/s`,
    )
  }
  const dfsLoopSteps = async (run: number) => {
    const result = await workload.cliLoop(`loop-${run}`, loopOps, SMALL, work)
    addThroughput(loop.put, result.put)
    addThroughput(loop.get, result.get)
    progress(
      `run ${run}: dfs put ${result.put.perSecond.toFixed(1)}/s, dfs get ${result.get.perSecond.toFixed(1)}/s`,
    )
  }

  for (let run = 1; run <= runs; run++) {
    progress(`run ${run} of ${runs}: small files`)
    const steps = [
      [() => baselineSmallSteps(run), () => dfsSmallSteps(run)],
      [() => baselineLoopSteps(run), () => dfsLoopSteps(run)],
    ]
    for (const [baseline, dfs] of steps) {
      if (run % 2 === 1) {
        await baseline!()
        await dfs!()
      } else {
        await dfs!()
        await baseline!()
      }
    }
  }

  // Start-up, alternating.
  progress(`start-up: dfs --version and node -e 0, ${VERSION_RUNS} each`)
  const version = series()
  const nodeStart = series()
  for (let i = 0; i < VERSION_RUNS; i++) {
    version.runs.push(...(await workload.versionMs(1)))
    const empty = await timedRun({ command: process.execPath, prefix: [] }, ['-e', '0'], {
      timeoutMs: 60_000,
    })
    nodeStart.runs.push(empty.seconds * 1000)
  }

  // Huge files, on request: one run, streamed through the proxy (bigger than its cache).
  const huge = { put: series(), get: series() }
  const hugeBase = { put: series(), get: series() }
  const hugeBaseName: 'nginx' | 'node' = nginx ? 'nginx' : 'node'
  if (options.huge) {
    const hugeSource = join(work, 'huge.bin')
    progress(`--huge: writing ${sizeText(hugeMiB * MiB)} of random bytes`)
    await rm(source, { force: true })
    await writeRandomFile(hugeSource, hugeMiB * MiB)
    const sha256 = await distinct(hugeSource)
    const viaBase = nginx
      ? await baselineLarge(
          'nginx (huge)',
          { url: `${nginx.url}/dav/huge.bin`, expectJson: false },
          join(nginx.davDir, 'huge.bin'),
          `${nginx.url}/dav/huge.bin`,
          hugeSource,
          sha256,
          base,
          work,
        )
      : await baselineLarge(
          'node https (huge)',
          { url: `${server.url}/upload`, expectJson: true },
          server.blob,
          `${server.url}/blob.bin`,
          hugeSource,
          sha256,
          base,
          work,
        )
    addTransfer(hugeBase.put, viaBase.put)
    addTransfer(hugeBase.get, viaBase.coldGet)
    await rm(nginx ? join(nginx.davDir, 'huge.bin') : server.blob, { force: true })
    const put = await workload.cliPut(hugeSource, workload.name('huge'), sha256)
    progress(`--huge: dfs put ${rate(put)}`)
    await coldOnServers(sha256)
    const get = await workload.cliGet(workload.name('huge'), join(work, 'huge.out'), sha256)
    progress(`--huge: dfs get ${rate(get)}`)
    addTransfer(huge.put, put)
    addTransfer(huge.get, get)
    cliPeak = { put: Math.max(cliPeak.put, put.peakRss ?? 0), get: Math.max(cliPeak.get, get.peakRss ?? 0) }
    await rm(hugeSource, { force: true })
  }

  // Peak memory of every process over the whole run (the kernel's high-water mark).
  const peakMb = (bytes: number): Series => ({ runs: [bytes / MB] })
  const nodePeak = peakMb(treePeakBytes(server.process.pid))
  const nginxPeak: Series | string = nginx ? peakMb(treePeakBytes(nginx.process.pid)) : nginxSkipped
  const fileservers = [...cluster.fileservers.entries()].sort(([a], [b]) => a - b).map(([, child]) => child)
  const roles = [cluster.directory, ...fileservers, ...cluster.proxies]
  const under150: Row['target'] = { basis: 'value', op: '<', bound: 150 }
  const memoryRow = (label: string, bytes: number): Row => ({
    label,
    unit: 'MB',
    dfs: peakMb(bytes),
    node: nodePeak,
    nginx: nginxPeak,
    target: under150,
  })

  progress('removing what the benchmark wrote')
  await workload.removeAll()

  const missing = nginx ? undefined : nginxSkipped
  const orMissing = (s: Series) => missing ?? s
  const whole = sizeText(size)
  const largeLabel: Record<LargeKey, string> = {
    cliPut: 'put, dfs put (R=2)',
    apiPut: 'put, proxy API (R=2)',
    cliColdGet: 'cold get, dfs get',
    apiColdGet: 'cold get, proxy API',
    cliCachedGet: 'cached get, dfs get',
    apiCachedGet: 'cached get, proxy API',
  }
  const largeTarget: Partial<Record<LargeKey, Row['target']>> = {
    cliPut: { basis: 'nginx', op: '>=', bound: 0.5 },
    apiPut: { basis: 'nginx', op: '>=', bound: 0.5 },
    cliColdGet: { basis: 'nginx', op: '>=', bound: 0.8 },
    cliCachedGet: { basis: 'nginx', op: '>=', bound: 0.9 },
  }
  const rows: (Row | Heading)[] = [
    { heading: `${whole} files, MB/s (median of ${runs})` },
    ...LARGE_KEYS.map((key): Row => ({
      label: largeLabel[key],
      unit: 'MB/s',
      dfs: large[key],
      node: nodeLarge[LARGE_BASELINE[key]],
      nginx: orMissing(nginxLarge[LARGE_BASELINE[key]]),
      target: largeTarget[key],
    })),
    { heading: `4 KiB files, ${IN_FLIGHT} in flight, ${smallOps} each way, per second (median of ${runs})` },
    {
      label: 'puts, proxy API',
      unit: '/s',
      dfs: small.put,
      node: nodeSmall.put,
      nginx: orMissing(nginxSmall.put),
      target: { basis: 'node', op: '>=', bound: 0.5 },
    },
    {
      label: 'cached gets, proxy API',
      unit: '/s',
      dfs: small.get,
      node: nodeSmall.get,
      nginx: orMissing(nginxSmall.get),
      target: { basis: 'nginx', op: '>=', bound: 0.3 },
    },
    { heading: `4 KiB files, a new process each, ${loopOps} in a row, per second (median of ${runs})` },
    {
      label: 'dfs put loop',
      unit: '/s',
      dfs: loop.put,
      node: nodeLoop.put,
      nginx: orMissing(nginxLoop.put),
      target: { basis: 'value', op: '>=', bound: 15 },
    },
    { label: 'dfs get loop', unit: '/s', dfs: loop.get, node: nodeLoop.get, nginx: orMissing(nginxLoop.get) },
    { heading: `start-up, ms (median of ${VERSION_RUNS})` },
    {
      label: 'dfs --version',
      unit: 'ms',
      dfs: version,
      node: nodeStart,
      target: { basis: 'node', op: '<=', bound: 2.5 },
    },
    ...(options.huge
      ? [
          { heading: `${sizeText(hugeMiB * MiB)} file (--huge), MB/s (one run)` },
          {
            label: 'put, dfs put (R=2)',
            unit: 'MB/s' as const,
            dfs: huge.put,
            ...(hugeBaseName === 'nginx' ? { nginx: hugeBase.put } : { node: hugeBase.put, nginx: missing }),
          },
          {
            label: 'cold get, dfs get',
            unit: 'MB/s' as const,
            dfs: huge.get,
            ...(hugeBaseName === 'nginx' ? { nginx: hugeBase.get } : { node: hugeBase.get, nginx: missing }),
          },
        ]
      : []),
    { heading: 'peak RSS over the whole run, MB' },
    ...roles.map((role) => memoryRow(role.name, treePeakBytes(role.process.pid))),
    memoryRow(`CLI, dfs put of ${whole}`, cliPeak.put),
    memoryRow(`CLI, dfs get of ${whole}`, cliPeak.get),
  ]
  const result = {
    settings: {
      sizeMiB,
      runs,
      smallOps,
      inFlight: IN_FLIGHT,
      loopOps,
      versionRuns: VERSION_RUNS,
      huge: options.huge ? hugeMiB : null,
    },
    rows,
    machine: machine(loadAtStart, nginx?.version),
    elapsedSeconds: (Date.now() - startedAt) / 1000,
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(reportJson(result), null, 2)}\n`)
    return
  }
  process.stdout.write(
    renderReport({
      title: `dfs bench: MB = 10^6 bytes; ${Math.round(result.elapsedSeconds)} s in all`,
      rows,
      machine: result.machine,
      notes: [
        'dfs put = CLI -> proxy -> primary -> replica, 2 fsynced copies; node https PUT: 1 fsynced copy; nginx PUT: WebDAV, no fsync.',
        "cold get: the proxy has no copy, the file servers' (and baselines') copies are out of the page cache; cached get: the same again.",
        'CLI figures include starting the CLI; loop baselines are one-request node processes (node -e) against each server.',
        'dfs / base = dfs / nginx where there is an nginx figure, else dfs / node https; a target against another basis shows its own ratio.',
      ],
    }),
  )
}

// ---------------------------------------------------------------------------------------------------
// Entry point: the benchmark, or (as a child of it) the baseline server.

if (process.argv[2] === '--baseline-server') {
  await baselineServer(process.argv[3] ?? '')
} else {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, cleaning up\n`)
      void cleanUp().finally(() => process.exit(130))
    })
  }
  // A reader that goes away (`npm run bench | head`) ends the run as SIGPIPE would, but only once
  // every process is stopped and every directory removed; nothing more is written to it.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error
      void cleanUp().finally(() => process.exit(141))
    })
  }
  // A safety net: whatever escapes still stops every process and removes every directory.
  const crash = (error: unknown) => {
    process.stderr.write(`bench: failed: ${(error as Error)?.stack ?? String(error)}\n`)
    void cleanUp().finally(() => process.exit(1))
  }
  process.on('unhandledRejection', crash)
  process.on('uncaughtException', crash)
  let code = 0
  try {
    if (process.argv.includes('--names')) {
      // The namespace-scale benchmark: its own script, with the same clean-up and output habits.
      const { namesBench } = await import('./bench-names.ts')
      await namesBench({ onCleanup, progress })
    } else {
      await main({ json: process.argv.includes('--json'), huge: process.argv.includes('--huge') })
    }
  } catch (error) {
    process.stderr.write(`bench: failed: ${(error as Error).message}\n`)
    // One failure of a 256 MiB run ("Premature close") could not be placed from its message alone.
    if (process.env.BENCH_DEBUG) console.error(error)
    code = 1
  } finally {
    await cleanUp()
  }
  process.exit(code)
}
