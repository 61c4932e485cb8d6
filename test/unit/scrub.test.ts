// The scrubber tells a blob it cannot read from a bad one: only bytes that hash to something else
// are quarantined and reported; a read that fails (EIO, a blob gone meanwhile) leaves the blob where
// it is and is the scrub pass's error, as `dfs status` shows it.

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { makeAgent } from '../../src/client/agent.ts'
import { DirectoryClient } from '../../src/client/directory-client.ts'
import { scrubAll } from '../../src/roles/fileserver/scrub-pass.ts'
import { FileServerService } from '../../src/roles/fileserver/service.ts'
import { periodic } from '../../src/server/periodic.ts'
import type { BlobStore, BlobWriter } from '../../src/storage/blob-store.ts'
import type { OpenedFile } from '../../src/streams/reused-buffers.ts'
import { DiskBlobStore } from '../../src/storage/disk-blob-store.ts'
import { eventually } from '../helpers/eventually.ts'
import { sha256 } from '../helpers/files.ts'

/** A disk store whose reads of one blob fail part-way, as a failing disk's do. */
class FailingReads implements BlobStore {
  private readonly disk: DiskBlobStore
  private readonly failing: string
  /** A blob listed that is not there any more (collected between the listing and the read). */
  private readonly vanished: string

  constructor(disk: DiskBlobStore, failing: string, vanished: string) {
    this.disk = disk
    this.failing = failing
    this.vanished = vanished
  }

  read(sha: string): Readable {
    if (sha !== this.failing) return this.disk.read(sha)
    return new Readable({
      read() {
        this.push(Buffer.from('the first bytes'))
        this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }))
      },
    })
  }

  async *list(): AsyncIterable<string> {
    yield* this.disk.list()
    yield this.vanished
  }

  open = (): Promise<void> => this.disk.open()
  createWriter = (): Promise<BlobWriter> => this.disk.createWriter()
  size = (sha: string): Promise<number | undefined> => this.disk.size(sha)
  readRange = (sha: string, start: number, end: number): Readable => this.disk.readRange(sha, start, end)
  openRead = (sha: string): Promise<OpenedFile> => this.disk.openRead(sha)
  remove = (sha: string): Promise<void> => this.disk.remove(sha)
  quarantine = (sha: string): Promise<void> => this.disk.quarantine(sha)
  modified = (sha: string): Promise<number | undefined> => this.disk.modified(sha)
  freeBytes = (): Promise<number> => this.disk.freeBytes()
}

/** The directory as far as the scrubber speaks to it: the bad copies it was told of. */
class ReportsTaken extends DirectoryClient {
  readonly reports: { server: number; sha256: string }[] = []

  override async report(server: number, sha: string): Promise<{ ok: true }> {
    this.reports.push({ server, sha256: sha })
    return { ok: true }
  }
}

let dir: string
const agent = makeAgent({ ca: '' })
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dfs-scrub-'))
})
after(async () => {
  await agent.close()
  await rm(dir, { recursive: true, force: true })
})

test('a blob that cannot be read stays and fails the scrub pass; one that hashes wrong is quarantined', async () => {
  const disk = new DiskBlobStore(dir)
  await disk.open()
  const put = async (data: Buffer) => {
    const writer = await disk.createWriter()
    await writer.write(data)
    return (await writer.commit()).sha256
  }
  const good = await put(Buffer.from('good bytes\n'))
  const unreadable = await put(Buffer.from('bytes on a failing sector\n'))
  const rotten = await put(Buffer.from('bytes that will rot\n'))
  await writeFile(disk.pathOf(rotten), 'rotted bytes\n')
  const vanished = sha256(Buffer.from('collected meanwhile\n'))

  const directory = new ReportsTaken('https://127.0.0.1:9', agent)
  const warnings: string[] = []
  const log = { warn: (_obj: object, message: string) => void warnings.push(message) }
  const service = new FileServerService(
    7,
    new FailingReads(disk, unreadable, vanished),
    directory,
    agent,
    log,
    join(dir, 'inventory'),
  )
  const job = periodic('scrub', () => scrubAll(service, 1e12), { everyMs: 3_600_000, firstDelayMs: 0, log })
  try {
    await eventually('the scrub pass to end', async () => job.state.lastOk ?? job.state.lastError)
  } finally {
    await job.stop()
  }

  const failure = job.state.lastError
  assert.ok(failure && job.state.lastOk === undefined, 'the pass failed')
  // The vanished blob is listed last: the unreadable one is the first failure.
  assert.equal(
    failure.message,
    `2 of 4 blobs failed; first: ${unreadable}: could not read blob ${unreadable} to scrub it: EIO: i/o error, read`,
  )
  assert.deepEqual(warnings, [`scrub failed: ${failure.message}`], 'one line in the log')

  assert.ok(existsSync(disk.pathOf(unreadable)), 'the unreadable blob stays')
  assert.equal(await disk.size(good), 11)
  assert.equal(await disk.size(rotten), undefined, 'the rotten blob is gone from the store')
  const quarantined = await readdir(join(dir, 'quarantine'))
  assert.deepEqual(
    quarantined.map((name) => name.split('.')[0]),
    [rotten],
    'and only it is quarantined',
  )
  assert.deepEqual(directory.reports, [{ server: 7, sha256: rotten }], 'and reported')
})
