// The directory's audit log: one JSON line per event (see AuditEvent), appended to
// `<data>/directory/audit.log` (0600) by one writer in the background, so a request never waits on
// the disk; rotated by size into audit.log.1 (newest) .. audit.log.N (oldest, then dropped). Read
// back oldest first, a line at a time, across the rotated files.

import { createInterface } from 'node:readline'
import { mkdir, open, rename, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { AuditEntry, AuditEvent } from '../../protocol/types.ts'
import type { Clock } from '../../server/clock.ts'
import { reason, type Logger } from '../../server/logger.ts'

export interface AuditLogOptions {
  /** The directory's data dir; the log is `audit.log` in it. */
  dir: string
  clock: Clock
  log: Logger
  /** A file is rotated before a write would take it past this size. */
  maxBytes?: number
  /** Rotated files kept. */
  keep?: number
}

export interface AuditFilter {
  user?: string
  /** ms since the epoch: entries at or after it. */
  since?: number
}

const MAX_BYTES = 10 * 1024 * 1024
const KEEP = 5
/** Lines waiting for a disk that does not keep up: past this, new ones are counted as lost. */
const MAX_QUEUED = 10_000

/** A file as a reader found it: open, so a rotation while it reads moves nothing under it. */
interface Snapshot {
  handle: FileHandle
  size: number
}

export class AuditLog {
  readonly path: string
  private readonly dir: string
  private readonly clock: Clock
  private readonly log: Logger
  private readonly maxBytes: number
  private readonly keep: number
  private handle?: FileHandle
  private size = 0
  private queue: string[] = []
  private scheduled = false
  /** Every write, rotation and reader's snapshot runs in turn on this chain. */
  private tail: Promise<void> = Promise.resolve()
  /** Set while writes fail: the failure is logged once, and the lines lost are counted. */
  private failing = false
  private lost = 0

  constructor(options: AuditLogOptions) {
    this.dir = options.dir
    this.path = join(options.dir, 'audit.log')
    this.clock = options.clock
    this.log = options.log
    this.maxBytes = options.maxBytes ?? MAX_BYTES
    this.keep = Math.max(1, options.keep ?? KEEP)
  }

  /** Stamps the event with the time and queues its line; never waits, never throws. */
  record(event: AuditEvent): void {
    const ms = this.clock.now()
    if (this.queue.length >= MAX_QUEUED) {
      this.lose(1, new Error(`more than ${MAX_QUEUED} lines waiting for the disk`))
      return
    }
    const entry: AuditEntry = { time: new Date(ms).toISOString(), ms, ...event }
    this.queue.push(`${JSON.stringify(entry)}\n`)
    if (this.scheduled) return
    this.scheduled = true
    void this.serial(() => this.writeQueued())
  }

  /** Resolves once every event recorded so far is written (or counted lost). */
  flush(): Promise<void> {
    return this.serial(async () => undefined)
  }

  async close(): Promise<void> {
    await this.flush()
    await this.handle?.close()
    this.handle = undefined
  }

  /** Entries matching `filter`, oldest first, across the rotated files. */
  async *read(filter: AuditFilter = {}): AsyncGenerator<AuditEntry> {
    const files = await this.serial(() => this.snapshot())
    let unreadable = 0
    try {
      for (const file of files) {
        for await (const line of lines(file)) {
          const entry = parse(line)
          if (!entry) unreadable++
          else if (matches(entry, filter)) yield entry
        }
      }
    } finally {
      await Promise.all(files.map((f) => f.handle.close()))
      if (unreadable > 0)
        this.log.warn({ path: this.path }, `${unreadable} unreadable lines in the audit log`)
    }
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.tail.then(step)
    // The chain goes on after a failed step (a reader's snapshot): the failure is that caller's.
    this.tail = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  private async writeQueued(): Promise<void> {
    this.scheduled = false
    const batch = this.queue
    this.queue = []
    let written = 0
    try {
      while (written < batch.length) {
        const handle = (this.handle ??= await this.open())
        const chunk = this.fitting(batch, written)
        if (chunk.lines === 0) {
          await this.rotate()
          continue
        }
        await handle.appendFile(chunk.text)
        this.size += chunk.bytes
        written += chunk.lines
      }
      if (this.failing) this.recovered()
    } catch (error) {
      // Reopened on the next write: the file may have been moved or its disk remounted.
      await this.handle?.close().catch(() => undefined)
      this.handle = undefined
      this.lose(batch.length - written, error)
    }
  }

  /** The lines from `from` on that fit in the current file (one at least, if it is empty). */
  private fitting(batch: string[], from: number): { text: string; bytes: number; lines: number } {
    let text = ''
    let bytes = 0
    let lines = 0
    for (let i = from; i < batch.length; i++) {
      const line = batch[i]!
      const size = Buffer.byteLength(line)
      if (this.size + bytes + size > this.maxBytes && this.size + bytes > 0) break
      text += line
      bytes += size
      lines++
    }
    return { text, bytes, lines }
  }

  private async open(): Promise<FileHandle> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const handle = await open(this.path, 'a', 0o600)
    // A file made by an older version, or copied in, is made private too.
    await handle.chmod(0o600)
    this.size = (await handle.stat()).size
    return handle
  }

  /** audit.log becomes .1, .1 becomes .2, ...; the oldest is overwritten. */
  private async rotate(): Promise<void> {
    await this.handle?.close()
    this.handle = undefined
    for (let i = this.keep; i >= 1; i--) {
      await renameIfThere(i === 1 ? this.path : `${this.path}.${i - 1}`, `${this.path}.${i}`)
    }
    this.handle = await this.open()
  }

  private lose(lines: number, error: unknown): void {
    this.lost += lines
    if (this.failing) return
    this.failing = true
    this.log.warn({ err: error, path: this.path }, `audit log not written: ${reason(error)}`)
  }

  private recovered(): void {
    this.log.warn({ path: this.path }, `audit log written again; ${this.lost} entries were lost`)
    this.failing = false
    this.lost = 0
  }

  /** Every file of the log, oldest first, opened between two writes. */
  private async snapshot(): Promise<Snapshot[]> {
    const paths = [...Array.from({ length: this.keep }, (_, i) => `${this.path}.${this.keep - i}`), this.path]
    const files: Snapshot[] = []
    try {
      for (const path of paths) {
        const handle = await openIfThere(path)
        if (handle) files.push({ handle, size: (await handle.stat()).size })
      }
    } catch (error) {
      await Promise.all(files.map((f) => f.handle.close()))
      throw error
    }
    return files
  }
}

/** The lines of a file up to the size it had when opened (a line appended since is left for later). */
async function* lines(file: Snapshot): AsyncGenerator<string> {
  if (file.size === 0) return
  const input = file.handle.createReadStream({ start: 0, end: file.size - 1, autoClose: false })
  try {
    yield* createInterface({ input, crlfDelay: Infinity })
  } finally {
    // A reader that stops early stops the reading too, before its handle is closed.
    input.destroy()
  }
}

function parse(line: string): AuditEntry | undefined {
  if (line.trim() === '') return undefined
  try {
    const entry = JSON.parse(line) as AuditEntry
    return typeof entry.ms === 'number' && typeof entry.action === 'string' ? entry : undefined
  } catch {
    return undefined
  }
}

function matches(entry: AuditEntry, filter: AuditFilter): boolean {
  if (filter.user !== undefined && entry.user !== filter.user) return false
  return filter.since === undefined || entry.ms >= filter.since
}

async function renameIfThere(from: string, to: string): Promise<void> {
  try {
    await rename(from, to)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

async function openIfThere(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The newest `limit` of `entries` (which come oldest first), still oldest first, in bounded memory. */
export async function newest<T>(entries: AsyncIterable<T>, limit: number): Promise<T[]> {
  const ring: T[] = []
  let seen = 0
  for await (const entry of entries) {
    ring[seen % limit] = entry
    seen++
  }
  if (seen <= limit) return ring
  const start = seen % limit
  return [...ring.slice(start), ...ring.slice(0, start)]
}
