// A file server: stores blobs by hash, takes a write as primary (storing it while piping the same
// bytes to its replicas), commits the new version to the directory once every copy is durable, and
// serves blobs to readers. It knows nothing about names beyond passing them to the directory.

import { once } from 'node:events'
import { PassThrough, pipeline, type Readable } from 'node:stream'
import type { Agent } from 'undici'
import type { DirectoryClient } from '../../client/directory-client.ts'
import { putStream } from '../../client/streams.ts'
import { DfsError } from '../../protocol/errors.ts'
import type { FileVersion } from '../../protocol/types.ts'
import type { BlobStore, StoredBlob } from '../../storage/blob-store.ts'
import { reason } from '../../server/logger.ts'
import { mapDiskError } from '../../storage/disk-blob-store.ts'
import { boundedMemory, memoryGuard } from '../../streams/bounded-memory.ts'
import { sha256OfStream } from '../../streams/hash.ts'

export interface ReplicaTarget {
  id: number
  url: string
}

export interface PrimaryWrite {
  name: string
  expectedVersion: number
  writer: string
  replicas: ReplicaTarget[]
  /** Declared length, if the sender knew it: a short body is refused, not committed. */
  length?: number
  /** The writer's fencing token, checked by the directory at commit. */
  token?: number
}

const PIPE_BUFFER = 1024 * 1024

export class FileServerService {
  readonly id: number
  readonly store: BlobStore
  private readonly directory: DirectoryClient
  private readonly agent: Agent
  private inventoryAsOf?: number

  constructor(id: number, store: BlobStore, directory: DirectoryClient, agent: Agent) {
    this.id = id
    this.store = store
    this.directory = directory
    this.agent = agent
  }

  /** Stores a blob sent by a primary; answers with what was stored so the primary can compare. */
  async acceptReplica(body: Readable, length?: number): Promise<StoredBlob> {
    return this.receive(body, [], length)
  }

  async acceptPrimary(body: Readable, write: PrimaryWrite): Promise<FileVersion> {
    if (write.replicas.some((r) => r.id === this.id)) {
      throw new DfsError('DFS_BAD_REQUEST', 'a primary cannot be its own replica')
    }
    const controller = new AbortController()
    const pipes = write.replicas.map((replica) => {
      const pipe = new PassThrough({ highWaterMark: PIPE_BUFFER })
      // Failures are seen through `result`; this keeps a late stream error from being unhandled.
      pipe.on('error', () => undefined)
      const result = putStream<StoredBlob>(
        this.agent,
        write.length === undefined
          ? `${replica.url}/v1/replica`
          : `${replica.url}/v1/replica?length=${write.length}`,
        pipe,
        write.length === undefined ? {} : { 'content-length': String(write.length) },
        `replica ${replica.id}`,
        controller.signal,
      )
      // A replica that fails ends its pipe, so the writer loop stops waiting on it.
      result.catch((error: unknown) => pipe.destroy(error as Error))
      return { replica, pipe, result }
    })
    try {
      const blob = await this.receive(
        body,
        pipes.map((p) => p.pipe),
        write.length,
      )
      const stored = await Promise.all(pipes.map((p) => p.result))
      stored.forEach((copy, index) => {
        if (copy.sha256 !== blob.sha256 || copy.size !== blob.size) {
          throw new DfsError('DFS_CORRUPT', `replica ${pipes[index]?.replica.id} stored different bytes`)
        }
      })
      return await this.directory.commit({
        name: write.name,
        expectedVersion: write.expectedVersion,
        sha256: blob.sha256,
        size: blob.size,
        primary: this.id,
        holders: [this.id, ...write.replicas.map((r) => r.id)],
        writer: write.writer,
        ...(write.token === undefined ? {} : { token: write.token }),
      })
    } catch (error) {
      controller.abort()
      for (const p of pipes) p.pipe.destroy()
      const results = await Promise.allSettled(pipes.map((p) => p.result))
      // The HTTP client can break a replica's pipe with the bare socket error (a 500 here) before the
      // request fails with the DfsError that names the replica: answer with that one.
      const broken = results[pipes.findIndex((p) => p.pipe.errored === error)]
      if (broken?.status === 'rejected' && broken.reason instanceof DfsError) throw broken.reason
      throw error
    }
  }

  /** Repair: sends one of our blobs to another server, which hashes what it stores; both must agree. */
  async copyTo(sha256: string, target: ReplicaTarget): Promise<StoredBlob> {
    const size = await this.store.size(sha256)
    if (size === undefined) throw new DfsError('DFS_NOT_FOUND', `no blob ${sha256} on file server ${this.id}`)
    const stored = await putStream<StoredBlob>(
      this.agent,
      `${target.url}/v1/replica?length=${size}`,
      pipeline(this.store.read(sha256), boundedMemory(), () => undefined),
      { 'content-length': String(size) },
      `file server ${target.id}`,
    )
    if (stored.sha256 !== sha256) {
      // Our copy is what is wrong: the target hashed exactly what we sent.
      await this.store.quarantine(sha256)
      const unsent = await Promise.all([
        this.tell(this.id, sha256, 'found corrupt while copying for repair'),
        this.tell(target.id, stored.sha256, 'received a corrupt copy during repair'),
      ])
      const why = unsent.find((u) => u !== undefined)
      // The repairer that asked for this copy logs this error, with the report's failure if any.
      throw new DfsError(
        'DFS_CORRUPT',
        `our copy of ${sha256} is corrupt${why ? `; reporting it to the directory failed: ${why}` : ''}`,
      )
    }
    return stored
  }

  /**
   * Tells the directory every blob we hold (it drops us as holder of anything missing), then deletes
   * the blobs no kept version needs, once older than `graceMs`: a write in flight has its blob in
   * place a moment before the directory knows of it.
   */
  async reconcile(graceMs: number, now: number): Promise<{ held: number; collected: number }> {
    // The first time, ask the directory's clock before listing: versions committed after it are
    // left out of the comparison, as their blobs may land after the listing began.
    const since = this.inventoryAsOf ?? (await this.directory.clock()).now
    const blobs: string[] = []
    for await (const sha256 of this.store.list()) blobs.push(sha256)
    const { unreferenced, now: asOf } = await this.directory.inventory(this.id, blobs, since)
    // The directory's clock when it answered: the next listing begins after it (see inventory there).
    this.inventoryAsOf = asOf
    let collected = 0
    for (const sha256 of unreferenced) {
      const modified = await this.store.modified(sha256)
      if (modified !== undefined && now - modified > graceMs) {
        await this.store.remove(sha256)
        collected++
      }
    }
    return { held: blobs.length, collected }
  }

  /**
   * Re-hashes one blob; a bad one is quarantined and reported so repair replaces it. A report that
   * fails is an error for the scrub pass to log (the next inventory tells the directory anyway).
   */
  async scrub(sha256: string): Promise<boolean> {
    // A blob we cannot read back is as bad as one whose bytes changed.
    const actual = await sha256OfStream(this.store.read(sha256)).catch(() => undefined)
    if (actual === sha256) return true
    await this.store.quarantine(sha256)
    const unsent = await this.tell(this.id, sha256, 'scrub found bytes that do not match')
    if (unsent)
      throw new DfsError('DFS_UNAVAILABLE', `quarantined bad blob ${sha256}; reporting it failed: ${unsent}`)
    return false
  }

  /** Reports a bad copy to the directory; answers why that failed, if it did. */
  private async tell(server: number, sha256: string, why: string): Promise<string | undefined> {
    return this.directory.report(server, sha256, why).then(
      () => undefined,
      (error: unknown) => reason(error),
    )
  }

  /** Reads a body into a new blob while copying every chunk to `pipes`, at the pace of the slowest. */
  private async receive(body: Readable, pipes: PassThrough[], length?: number): Promise<StoredBlob> {
    const writer = await this.store.createWriter()
    const guard = memoryGuard()
    try {
      for await (const chunk of body) {
        guard((chunk as Buffer).length)
        const waits: Promise<unknown>[] = [writer.write(chunk as Buffer)]
        for (const pipe of pipes) {
          if (pipe.destroyed) throw pipe.errored ?? new DfsError('DFS_UNAVAILABLE', 'a replica went away')
          if (!pipe.write(chunk)) waits.push(once(pipe, 'drain'))
        }
        await Promise.all(waits)
      }
      if (length !== undefined && writer.bytes !== length) {
        throw new DfsError('DFS_BAD_REQUEST', `body ended after ${writer.bytes} of ${length} bytes`)
      }
      for (const pipe of pipes) pipe.end()
      return await writer.commit()
    } catch (error) {
      await writer.abort()
      throw error instanceof Error ? mapDiskError(error) : error
    }
  }
}
