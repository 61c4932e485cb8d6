// `dfs bench`'s measurements: the dfs half of `npm run bench` (no baselines), against whatever
// cluster the workload points at, and the table they print as.

import { join } from 'node:path'
import { largeRound, writeRandomFile, type DfsWorkload, type LargeRound } from './dfs-workload.ts'
import { median, type Throughput } from './stats.ts'
import { renderTable } from './table.ts'

export interface BenchSettings {
  /** Bytes of the whole-file transfers. */
  size: number
  runs: number
  smallSize: number
  smallCount: number
  inFlight: number
  loopCount: number
  versionRuns: number
}

export interface Figure {
  key: string
  label: string
  unit: 'MB/s' | '/s' | 'ms'
  /** The median of `runs`. */
  value: number
  runs: number[]
  p50Ms?: number
  p99Ms?: number
  /** Of the CLI process, for CLI rows. */
  peakRssBytes?: number
}

const MB = 1e6

export async function runDfsBench(
  workload: DfsWorkload,
  settings: BenchSettings,
  work: string,
  progress: (line: string) => void,
): Promise<Figure[]> {
  const source = join(work, 'source.bin')
  progress(`writing ${settings.size} random bytes to ${source}`)
  await writeRandomFile(source, settings.size)
  const rounds: LargeRound[] = []
  for (let run = 1; run <= settings.runs; run++)
    rounds.push(await largeRound(workload, source, `large-${run}`, work, { progress }))

  const puts: Throughput[] = []
  const gets: Throughput[] = []
  const loopPuts: Throughput[] = []
  const loopGets: Throughput[] = []
  for (let run = 1; run <= settings.runs; run++) {
    puts.push(
      await workload.smallPuts(`small-${run}`, settings.smallCount, settings.smallSize, settings.inFlight),
    )
    gets.push(await workload.smallGets(`small-${run}`, settings.inFlight))
    progress(
      `run ${run}: ${settings.smallCount} small puts ${puts.at(-1)!.perSecond.toFixed(0)}/s, gets ${gets.at(-1)!.perSecond.toFixed(0)}/s`,
    )
    const loop = await workload.cliLoop(`loop-${run}`, settings.loopCount, settings.smallSize, work)
    loopPuts.push(loop.put)
    loopGets.push(loop.get)
    progress(
      `run ${run}: dfs put loop ${loop.put.perSecond.toFixed(1)}/s, dfs get loop ${loop.get.perSecond.toFixed(1)}/s`,
    )
  }
  const version = await workload.versionMs(settings.versionRuns)

  const size = settings.size
  const large = (key: keyof LargeRound, label: string, cli: boolean): Figure => {
    const runs = rounds.map((round) => mbPerSecond(round[key]))
    return {
      key,
      label: `${label} (${sizeText(size)})`,
      unit: 'MB/s',
      value: median(runs),
      runs,
      ...(cli ? { peakRssBytes: Math.max(...rounds.map((round) => round[key].peakRss ?? 0)) } : {}),
    }
  }
  const many = (key: string, label: string, runs: Throughput[]): Figure => ({
    key,
    label,
    unit: '/s',
    value: median(runs.map((r) => r.perSecond)),
    runs: runs.map((r) => r.perSecond),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
  })
  const small = sizeText(settings.smallSize)
  return [
    large('cliPut', 'put, dfs put', true),
    large('apiPut', 'put, proxy API', false),
    large('cliColdGet', 'cold get, dfs get', true),
    large('apiColdGet', 'cold get, proxy API', false),
    large('cliCachedGet', 'cached get, dfs get', true),
    large('apiCachedGet', 'cached get, proxy API', false),
    many('smallPut', `${small} puts, ${settings.inFlight} in flight, proxy API`, puts),
    many('smallGet', `${small} cached gets, ${settings.inFlight} in flight, proxy API`, gets),
    many('loopPut', `${small} dfs put, sequential loop`, loopPuts),
    many('loopGet', `${small} dfs get, sequential loop`, loopGets),
    { key: 'version', label: 'dfs --version', unit: 'ms', value: median(version), runs: version },
  ]
}

export function mbPerSecond(transfer: { size: number; seconds: number }): number {
  return transfer.size / MB / transfer.seconds
}

export function sizeText(bytes: number): string {
  for (const [unit, scale] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale} ${unit}`
  }
  return `${bytes} B`
}

export function figureText(value: number, unit: Figure['unit']): string {
  if (unit === 'MB/s') return `${value.toFixed(0)} MB/s`
  if (unit === '/s') return `${value < 100 ? value.toFixed(1) : value.toFixed(0)}/s`
  return `${value.toFixed(0)} ms`
}

export function msText(ms: number | undefined): string {
  return ms === undefined ? '-' : `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms`
}

export function renderFigures(figures: Figure[]): string {
  return renderTable(
    ['operation', 'figure', 'p50', 'p99', 'CLI peak RSS'],
    figures.map((f) => [
      f.label,
      figureText(f.value, f.unit),
      msText(f.p50Ms),
      msText(f.p99Ms),
      f.peakRssBytes ? `${(f.peakRssBytes / MB).toFixed(0)} MB` : '-',
    ]),
  )
}
