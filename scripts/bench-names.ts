// `npm run bench -- --names`: what the directory's everyday work costs as the namespace grows. For
// each size (BENCH_NAMES, default 10000,100000,1000000 names) a metadata store is made empty (so it
// creates its own schema), loaded straight into that schema (bench-names-namespace.ts: names
// d0000/f000.., holders on 3 file servers with R=2, every tenth name with 3 versions), and opened
// under a DirectoryService that serves its HTTPS API on loopback with real mutual TLS.
// BENCH_METADATA picks the store, as `dfs directory --metadata` does:
// - sqlite (the default): the embedded store in a temp dir, loaded in one node:sqlite transaction
//   (bench-names-sqlite.ts);
// - postgres: a throwaway PostgreSQL server (its programs installed, as for the tests), a fresh
//   database per size, loaded by INSERT ... SELECT over generate_series in one transaction, then
//   VACUUM ANALYZE (bench-names-postgres.ts). Stopped and removed at the end.
// Then, at each size, the same measurements whichever the store:
// - stat: getFile through the store, and GET /v1/files through HTTPS as a proxy acting for a user;
// - ls of one 1,000-name directory: listFiles through the store, and GET /v1/list through HTTPS;
// - a repair pass with nothing to repair: the real Repairer, with a copier that must not be called;
// - an inventory with nothing changed (a change inventory after a full one), through HTTPS, alone
//   and as a file server's whole run (its blobs listed from memory, its listing kept on disk), next
//   to the full inventory, sent in pages as a file server sends it, at every size;
// - the count of names and bytes `dfs status` shows: countFiles through the store.
// Output: progress on stderr; a table (rows: measurements; columns: sizes, and the ratio of the
// largest to the smallest), then one JSON line with the same figures, on stdout.

import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { makeAgent } from '../src/client/agent.ts'
import { DirectoryClient, type UserDirectoryClient } from '../src/client/directory-client.ts'
import type { MetadataStore } from '../src/metadata/store.ts'
import { INVENTORY_PAGE, type InventoryPageAnswer } from '../src/protocol/types.ts'
import { buildDirectoryApp } from '../src/roles/directory/app.ts'
import { AuditLog } from '../src/roles/directory/audit-log.ts'
import { JoinService } from '../src/roles/directory/join-service.ts'
import { NodeAdmin, Revocations } from '../src/roles/directory/node-admin.ts'
import { Repairer } from '../src/roles/directory/repairer.ts'
import { DEFAULT_DIRECTORY_CONFIG, DirectoryService } from '../src/roles/directory/service.ts'
import { FileServerService } from '../src/roles/fileserver/service.ts'
import { listen } from '../src/server/app.ts'
import { systemClock, systemRandom } from '../src/server/clock.ts'
import { issueNodeCert, makeCa } from '../src/tls/ca.ts'
import {
  NAMES_PER_DIR,
  SERVERS,
  USER,
  HeldBlobs,
  checkLoaded,
  listingOnly,
  nameOf,
  sizeOf,
} from './bench-names-namespace.ts'

const MB = 1000 * 1000
const quiet = { warn: () => undefined }

export interface NamesBenchDeps {
  onCleanup(fn: () => Promise<void>): void
  progress(line: string): void
}

/** A kind of metadata store the bench loads and measures. */
export interface NamesBackend {
  /** What it is, for the table's title. */
  label: string
  /** An empty store for `size` names, its schema made by the store itself. */
  create(size: number, work: string): Promise<LoadableStore>
}

export interface LoadableStore {
  /** Where it is, for progress lines. */
  where: string
  /** The namespace of `size` names, straight into the store's tables (timed as the load). */
  load(mtime: number): Promise<void>
  /** Run after the load, timed apart. */
  afterLoad?: { what: string; run(): Promise<unknown> }
  /** The store over what was loaded; the bench closes it. */
  open(): Promise<MetadataStore>
  /** Bytes the metadata takes on disk. */
  diskBytes(): Promise<number>
  /** Frees what was loaded, once the store is closed. */
  remove(): Promise<unknown>
}

interface Row {
  measurement: string
  unit: 'us' | 'ms' | 's' | 'bytes' | 'MB' | 'count'
  values: Map<number, number>
}

export async function namesBench({ onCleanup, progress }: NamesBenchDeps): Promise<void> {
  const sizes = namesFromEnv()
  const backend = await backendFromEnv(onCleanup)
  const loadAtStart = loadavg()
  const rows = new Map<string, Row>()
  const note = (measurement: string, unit: Row['unit'], size: number, value: number) => {
    const row = rows.get(measurement) ?? { measurement, unit, values: new Map() }
    row.values.set(size, value)
    rows.set(measurement, row)
  }
  for (const size of sizes) {
    const work = await mkdtemp(join(tmpdir(), 'dfs-bench-names-'))
    // Each size's store is gone before the next is loaded: a million names take about a gigabyte.
    let removed = false
    const removeWork = async () => {
      if (!removed) await rm(work, { recursive: true, force: true })
      removed = true
    }
    onCleanup(removeWork)
    await measureSize(size, work, backend, (m, unit, value) => note(m, unit, size, value), progress)
    await removeWork()
  }
  report(backend, sizes, [...rows.values()], loadAtStart)
}

function namesFromEnv(): number[] {
  const raw = process.env.BENCH_NAMES ?? '10000,100000,1000000'
  const sizes = raw.split(',').map((part) => Number(part.trim()))
  if (sizes.some((n) => !Number.isInteger(n) || n < NAMES_PER_DIR))
    throw new Error(`BENCH_NAMES must be integers >= ${NAMES_PER_DIR}, comma-separated, not ${raw}`)
  return [...new Set(sizes)].sort((a, b) => a - b)
}

async function backendFromEnv(onCleanup: NamesBenchDeps['onCleanup']): Promise<NamesBackend> {
  const kind = process.env.BENCH_METADATA ?? 'sqlite'
  if (kind === 'sqlite') return (await import('./bench-names-sqlite.ts')).sqliteBackend
  if (kind === 'postgres') return (await import('./bench-names-postgres.ts')).postgresBackend(onCleanup)
  throw new Error(`BENCH_METADATA must be sqlite or postgres, not ${kind}`)
}

// ---------------------------------------------------------------------------------------------------
// One size

type Note = (measurement: string, unit: Row['unit'], value: number) => void

async function measureSize(
  size: number,
  work: string,
  backend: NamesBackend,
  note: Note,
  progress: (line: string) => void,
) {
  const mtime = Date.now() - 3600_000
  const loadable = await backend.create(size, work)
  try {
    progress(`${size} names: loading into ${loadable.where}`)
    let started = performance.now()
    await loadable.load(mtime)
    note('load (bulk insert, one transaction)', 's', (performance.now() - started) / 1000)
    if (loadable.afterLoad) {
      progress(`${size} names: ${loadable.afterLoad.what}`)
      started = performance.now()
      await loadable.afterLoad.run()
      note(loadable.afterLoad.what, 's', (performance.now() - started) / 1000)
    }
    note('metadata on disk', 'MB', (await loadable.diskBytes()) / MB)
    const store = await loadable.open()
    try {
      await checkLoaded(store, size)
      const directory = await startDirectory(store, work)
      try {
        await measure(size, directory, work, note, progress)
      } finally {
        await directory.close()
      }
    } finally {
      await store.close()
    }
  } finally {
    await loadable.remove()
  }
}

async function measure(
  size: number,
  directory: Directory,
  work: string,
  note: Note,
  progress: (line: string) => void,
) {
  const { service, store, proxy, fileserver } = directory
  const random = lcg(size)
  const anyName = () => nameOf(Math.floor(random() * size))

  progress(`${size} names: stat`)
  const viaStore = await samples(3000, 300, () => store.getFile(anyName()))
  note('stat p50: store getFile', 'us', percentile(viaStore, 50) * 1000)
  note('stat p99: store getFile', 'us', percentile(viaStore, 99) * 1000)
  const viaHttps = await samples(500, 50, () => proxy.locate(anyName()))
  note('stat p50: HTTPS GET /v1/files', 'ms', percentile(viaHttps, 50))
  note('stat p99: HTTPS GET /v1/files', 'ms', percentile(viaHttps, 99))

  progress(`${size} names: ls of a 1,000-name directory`)
  const dirs = size / NAMES_PER_DIR
  const anyDir = () => nameOf(Math.floor(random() * dirs) * NAMES_PER_DIR).split('/')[0]! + '/'
  const listed = await samples(30, 3, async () => {
    const page = await store.listFiles(anyDir(), NAMES_PER_DIR)
    if (page.length !== NAMES_PER_DIR) throw new Error(`ls found ${page.length} names, not 1000`)
  })
  note('ls 1,000 names p50: store listFiles', 'ms', percentile(listed, 50))
  const listedHttps = await samples(30, 3, async () => {
    const page = await proxy.list({ prefix: anyDir(), limit: NAMES_PER_DIR })
    if (page.files.length !== NAMES_PER_DIR) throw new Error(`ls found ${page.files.length} names`)
  })
  note('ls 1,000 names p50: HTTPS GET /v1/list', 'ms', percentile(listedHttps, 50))

  progress(`${size} names: a repair pass with nothing to repair`)
  const repairer = new Repairer({
    store,
    servers: () => service.servers(),
    config: { replicas: 2, ratePerSecond: 5 },
    clock: systemClock,
    random: systemRandom,
    copy: async (task) => {
      throw new Error(`the loaded namespace needs no repair, yet ${task.name} was to be copied`)
    },
    log: quiet,
  })
  // Heard from once, not in each pass's time: a heartbeat is a commit (an fsync on SQLite).
  await heartbeats(service)
  const passes = await samples(5, 1, async () => {
    const outcome = await repairer.pass()
    if (outcome.copied > 0 || outcome.failures.length > 0 || repairer.status.underReplicated > 0)
      throw new Error(`a repair pass found work in a namespace that needs none`)
  })
  note('repair pass, nothing to repair', 'ms', percentile(passes, 50))

  progress(`${size} names: the count dfs status shows`)
  const loadedBytes = totalBytes(size)
  const counted = await samples(3, 1, async () => {
    const { files, bytes } = await store.countFiles()
    if (files !== size || bytes !== loadedBytes)
      throw new Error(`the store counts ${files} names of ${bytes} bytes, not ${size} of ${loadedBytes}`)
  })
  note('status count p50: store countFiles', 'ms', percentile(counted, 50))

  progress(`${size} names: inventories`)
  await inventories(size, fileserver, directory, work, note)
}

/** The bytes of the current versions of `size` names. */
function totalBytes(size: number): number {
  let total = 0
  for (let i = 0; i < size; i++) total += sizeOf(i)
  return total
}

async function inventories(
  size: number,
  client: DirectoryClient,
  directory: Directory,
  work: string,
  note: Note,
) {
  const held = new HeldBlobs(1, size)
  note('blobs on file server 1', 'count', held.count)
  const asOf = directory.service.now()
  // The pages as a file server sends them: its blobs in hash order, INVENTORY_PAGE at a time.
  let answer: InventoryPageAnswer | undefined
  let pages = 0
  let sent = 0
  let largest = 0
  let page: string[] = []
  let after: string | undefined
  const send = async (last: boolean) => {
    const body = {
      blobs: page,
      after,
      last: last ? undefined : page.at(-1),
      inventory: answer?.inventory,
      asOf,
    }
    const bytes = Buffer.byteLength(JSON.stringify(body))
    sent += bytes
    largest = Math.max(largest, bytes)
    pages++
    answer = await client.inventoryPage(1, body)
    if (answer.unreferenced.length > 0)
      throw new Error('the full inventory found garbage where there is none')
    after = body.last
    page = []
  }
  let started = performance.now()
  for (const sha256 of held.sorted()) {
    page.push(sha256)
    if (page.length === INVENTORY_PAGE) await send(false)
  }
  await send(true)
  note('full inventory: directory (HTTPS)', 's', (performance.now() - started) / 1000)
  note(`full inventory: pages of ${INVENTORY_PAGE.toLocaleString('en')} blobs`, 'count', pages)
  note('full inventory: request bodies (all pages)', 'MB', sent / MB)
  note('full inventory: request body (largest page)', 'MB', largest / MB)
  if (answer?.generation === undefined)
    throw new Error('the last page of a full inventory gave no generation')

  let body = ''
  let generation = answer.generation
  let now = answer.now
  const unchanged = await samples(50, 5, async () => {
    const changes = { base: generation, added: [], removed: [], check: [], asOf: now }
    body = JSON.stringify(changes)
    const reply = await client.inventoryChanges(1, changes)
    if ('needFull' in reply || reply.generation === undefined)
      throw new Error('the directory lost track of a change inventory')
    generation = reply.generation
    now = reply.now
  })
  note('inventory, nothing changed: directory (HTTPS)', 'ms', percentile(unchanged, 50))
  note('inventory, nothing changed: request body', 'bytes', Buffer.byteLength(body))

  // The file server's own side: its listing (from memory here) walked into its listing on disk,
  // and compared with the one it last reported.
  const server = new FileServerService(
    1,
    listingOnly(held),
    client,
    directory.fileserverAgent,
    quiet,
    join(work, 'fileserver-inventory'),
  )
  const options = { graceMs: 3600_000, fullEveryMs: 24 * 3600_000 }
  started = performance.now()
  const first = await server.reconcile(Date.now(), options)
  if (!first.full) throw new Error("a file server's first inventory was not full")
  note(
    'full inventory: file server run (blobs listed from memory)',
    's',
    (performance.now() - started) / 1000,
  )
  const runs = await samples(5, 1, async () => {
    const run = await server.reconcile(Date.now(), options)
    if (run.full || run.collected > 0) throw new Error('an inventory with nothing changed did more')
  })
  note('inventory, nothing changed: file server run (listed from memory)', 'ms', percentile(runs, 50))
}

// ---------------------------------------------------------------------------------------------------
// A directory on loopback, as `dfs directory` runs it but over the loaded store

interface Directory {
  service: DirectoryService
  store: MetadataStore
  /** The API as proxy 1 calls it for the user `bench`. */
  proxy: UserDirectoryClient
  /** The API as file server 1 calls it. */
  fileserver: DirectoryClient
  fileserverAgent: ReturnType<typeof makeAgent>
  close(): Promise<void>
}

async function startDirectory(store: MetadataStore, work: string): Promise<Directory> {
  const config = { ...DEFAULT_DIRECTORY_CONFIG, replicas: 2, minCopies: 2 }
  const service = new DirectoryService(store, config, systemClock, systemRandom)
  const ca = makeCa()
  const revocations = new Revocations()
  const audit = new AuditLog({ dir: work, clock: systemClock, log: quiet })
  const app = buildDirectoryApp(service, {
    tls: { ...issueNodeCert(ca, { role: 'directory', id: 0 }), ca: ca.cert },
    join: new JoinService(store, ca, systemClock),
    nodes: new NodeAdmin(store, service, revocations),
    revocations,
    audit,
  })
  const url = await listen(app, '127.0.0.1', 0)
  const proxyAgent = makeAgent({ ca: ca.cert, ...issueNodeCert(ca, { role: 'proxy', id: 1 }) })
  const fileserverAgent = makeAgent({ ca: ca.cert, ...issueNodeCert(ca, { role: 'fileserver', id: 1 }) })
  await heartbeats(service)
  // The first login registers the user, who owns every name loaded.
  const session = await service.accounts.login(USER, 'bench-password')
  return {
    service,
    store,
    proxy: new DirectoryClient(url, proxyAgent).forUser(session.token),
    fileserver: new DirectoryClient(url, fileserverAgent),
    fileserverAgent,
    close: async () => {
      await app.close()
      await proxyAgent.close()
      await fileserverAgent.close()
      await audit.close()
    },
  }
}

/** Every file server heard from just now, so repair counts their copies. */
async function heartbeats(service: DirectoryService): Promise<void> {
  for (const id of SERVERS)
    await service.heartbeat({ id, url: `https://127.0.0.1:${6000 + id}`, freeBytes: 1e12 })
}

// ---------------------------------------------------------------------------------------------------
// Timing

/** Milliseconds each of `count` runs of `fn` took, after `warmUp` runs not counted. */
async function samples(count: number, warmUp: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmUp; i++) await fn()
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    await fn()
    times.push(performance.now() - started)
  }
  return times
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/** A seeded generator: every run looks up the same names. */
function lcg(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

// ---------------------------------------------------------------------------------------------------
// Output

function label(size: number): string {
  if (size >= 1_000_000 && size % 1_000_000 === 0) return `${size / 1_000_000}M`
  if (size >= 1000 && size % 1000 === 0) return `${size / 1000}k`
  return String(size)
}

function format(value: number | undefined, unit: Row['unit']): string {
  if (value === undefined) return '-'
  if (unit === 'count' || unit === 'bytes') return `${Math.round(value)}${unit === 'bytes' ? ' B' : ''}`
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2
  return `${value.toFixed(digits)} ${unit === 'us' ? 'µs' : unit}`
}

function report(backend: NamesBackend, sizes: number[], rows: Row[], loadAtStart: number[]): void {
  const first = sizes[0]!
  const last = sizes.at(-1)!
  const ratioOf = (row: Row) => {
    const a = row.values.get(first)
    const b = row.values.get(last)
    return a !== undefined && b !== undefined && a > 0 && sizes.length > 1 ? b / a : undefined
  }
  // One size has nothing to compare with: no ratio column.
  const ratio = sizes.length > 1 ? [`ratio ${label(last)}/${label(first)}`] : []
  const header = ['measurement', ...sizes.map(label), ...ratio]
  const table = [
    header,
    ...rows.map((row) => [
      row.measurement,
      ...sizes.map((size) => format(row.values.get(size), row.unit)),
      ...(ratio.length ? [ratioOf(row)?.toFixed(2) ?? '-'] : []),
    ]),
  ]
  const widths = header.map((_, col) => Math.max(...table.map((cells) => cells[col]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
      .join('  ')
      .trimEnd()
  const cpuList = cpus()
  const machine = {
    node: process.version,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    kernel: release(),
    loadavgAtStart: loadAtStart.map((l) => Number(l.toFixed(2))),
    loadavgAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
  }
  const out = [
    '',
    `dfs names bench: ${sizes.map(label).join(', ')} names (3 file servers, R=2, every tenth name with 3 versions)`,
    `metadata: ${backend.label}`,
    `machine: node ${machine.node}, ${machine.cpus} cpus (${machine.cpuModel}), ` +
      `${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, linux ${machine.kernel}, ` +
      `load average ${machine.loadavgAtStart.join(' ')} at the start, ${machine.loadavgAtEnd.join(' ')} at the end`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...table.slice(1).map(line),
    '',
  ]
  process.stdout.write(`${out.join('\n')}\n`)
  const json = rows.map((row) => ({
    measurement: row.measurement,
    unit: row.unit,
    values: Object.fromEntries(sizes.map((size) => [String(size), row.values.get(size) ?? null])),
    ratio: ratioOf(row) ?? null,
  }))
  process.stdout.write(
    `${JSON.stringify({ bench: 'dfs-names', metadata: backend.label, sizes, machine, rows: json })}\n`,
  )
}
