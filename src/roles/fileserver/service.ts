// A file server: stores blobs by hash, takes a write as primary (storing it while piping the same
// bytes to its replicas), commits the new version to the directory once every copy is durable, and
// serves blobs to readers. It knows nothing about names beyond passing them to the directory.

import { PassThrough, pipeline, type Readable } from 'node:stream'
import type { NodeAgent } from '../../client/agent.ts'
import type { DirectoryClient } from '../../client/directory-client.ts'
import { isConnectFailure } from '../../client/network-failure.ts'
import { putStream } from '../../client/streams.ts'
import { keepsBlockList } from '../../protocol/blocks.ts'
import { DfsError } from '../../protocol/errors.ts'
import type { CommittedVersion } from '../../protocol/types.ts'
import type { BlobStore, StoredBlob, WriterHashing } from '../../storage/blob-store.ts'
import { reason, type Logger } from '../../server/logger.ts'
import { mapDiskError } from '../../storage/disk-blob-store.ts'
import { boundedMemory, memoryGuard } from '../../streams/bounded-memory.ts'
import { bodyTooLong, bodyTooShort } from '../../streams/declared-length.ts'
import { sha256OfStream } from '../../streams/hash.ts'
import { BlobInventory, type InventoryOptions, type InventoryRun } from './inventory.ts'

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
  /** The writer's lease key, checked by the directory at commit. */
  lease?: string
  /** The writer's address, passed on to the directory's audit log. */
  client?: string
  /** The proxy that sent the write (its certificate's id), passed on with the commit. */
  proxy?: number
}

const PIPE_BUFFER = 1024 * 1024
/** A replica that takes no bytes this long during a write is dropped (and replaced). */
const STALL_MS = 30_000
/** A replica that has every byte but does not confirm its copy this long is dropped (and replaced). */
const ANSWER_MS = 120_000

export class FileServerService {
  readonly id: number
  readonly store: BlobStore
  private readonly directory: DirectoryClient
  private readonly agent: NodeAgent
  private readonly log: Logger
  private readonly inventory: BlobInventory
  /**
   * Tells the directory our free space now, resolving once it heard (or gave up): set by run.ts to a
   * heartbeat out of turn. An abandoned write frees its bytes; without this, a heartbeat taken while
   * they filled the disk would keep new writes away from the room they left until the next one.
   */
  spaceFreed: () => Promise<void> = async () => undefined

  /** `inventoryDir` keeps the inventory's listings of the store (see listing.ts). */
  constructor(
    id: number,
    store: BlobStore,
    directory: DirectoryClient,
    agent: NodeAgent,
    log: Logger,
    inventoryDir: string,
  ) {
    this.id = id
    this.store = store
    this.directory = directory
    this.agent = agent
    this.log = log
    this.inventory = new BlobInventory(id, store, directory, inventoryDir)
  }

  /**
   * Stores a blob sent by a primary; answers with what was stored so the primary can compare. Not
   * with the block list: the primary has its own, and the answer would grow with the file.
   */
  async acceptReplica(body: Readable, length?: number): Promise<StoredBlob> {
    // The directory has the primary's block list: a replica hashes only the whole, to answer it.
    const { sha256, size } = await this.receive(body, [], length, 'whole')
    return { sha256, size }
  }

  /**
   * A write as primary, HDFS-pipeline style: the bytes are stored here and piped on to the replicas
   * as they arrive. A replica that fails or stalls mid-way is dropped from the pipe while the write
   * goes on; once the blob is durable here, it is copied (verified) to a replacement server the
   * directory names. The commit lists exactly the servers that hold verified copies, and the
   * directory refuses it below --min-copies.
   */
  async acceptPrimary(body: Readable, write: PrimaryWrite): Promise<CommittedVersion> {
    if (write.replicas.some((r) => r.id === this.id)) {
      throw new DfsError('DFS_BAD_REQUEST', 'a primary cannot be its own replica')
    }
    const pipes = write.replicas.map((replica) => this.openReplica(replica, write.length))
    let blob: StoredBlob
    try {
      blob = await this.receive(body, pipes, write.length, 'blocks')
    } catch (error) {
      for (const p of pipes) p.fail(new DfsError('DFS_UNAVAILABLE', 'the write was abandoned'))
      await Promise.allSettled(pipes.map((p) => p.result))
      throw error
    }
    const { good, failures } = await this.replicated(blob, pipes)
    try {
      return await this.directory.commit({
        name: write.name,
        expectedVersion: write.expectedVersion,
        sha256: blob.sha256,
        size: blob.size,
        // Past what the directory keeps, the version goes without a list and is verified whole.
        ...(blob.blocks !== undefined && keepsBlockList(blob.size) ? { blocks: blob.blocks } : {}),
        primary: this.id,
        holders: [this.id, ...good],
        writer: write.writer,
        ...(write.lease === undefined ? {} : { lease: write.lease }),
        ...(write.client === undefined ? {} : { client: write.client }),
        ...(write.proxy === undefined ? {} : { proxy: write.proxy }),
      })
    } catch (error) {
      throw withReplicaFailures(error, failures)
    }
  }

  /** Starts the PUT of a write's bytes to one replica; the pipe is fed by receive(). */
  private openReplica(replica: ReplicaTarget, length: number | undefined): ReplicaPipe {
    const controller = new AbortController()
    const pipe = new PassThrough({ highWaterMark: PIPE_BUFFER })
    // Failures are seen through `result`; this keeps a late stream error from being unhandled.
    pipe.on('error', () => undefined)
    let failure: DfsError | undefined
    const fail = (reason: DfsError) => {
      failure ??= reason
      controller.abort(reason)
      pipe.destroy()
    }
    const result = putStream<StoredBlob>(
      this.agent,
      length === undefined ? `${replica.url}/v1/replica` : `${replica.url}/v1/replica?length=${length}`,
      pipe,
      length === undefined ? {} : { 'content-length': String(length) },
      `replica ${replica.id}`,
      controller.signal,
    ).catch((error: unknown) => {
      // A replica that fails ends its pipe, so the writer loop stops feeding it.
      pipe.destroy()
      throw failure ?? error
    })
    result.catch(() => undefined)
    return { replica, pipe, result, fail }
  }

  /**
   * The replicas whose copy matches `blob`, plus replacements for the ones that failed: the blob is
   * copied from here to servers the directory names (live, with room, not already tried).
   */
  private async replicated(
    blob: StoredBlob,
    pipes: ReplicaPipe[],
  ): Promise<{ good: number[]; failures: DfsError[] }> {
    const good: number[] = []
    const failed: number[] = []
    const failures: DfsError[] = []
    const outcomes = await Promise.allSettled(pipes.map((p) => this.answered(p)))
    outcomes.forEach((outcome, index) => {
      const { replica } = pipes[index]!
      const failure = replicaFailure(replica, outcome, blob)
      if (!failure) return void good.push(replica.id)
      failed.push(replica.id)
      failures.push(failure)
      this.log.warn({ err: failure.cause }, `${failure.message} (blob ${blob.sha256})`)
      if (isConnectFailure(failure.cause)) {
        this.directory
          .unreachable(replica.id, failure.message)
          .catch((error: unknown) =>
            this.log.warn({ err: error }, `could not tell the directory: ${reason(error)}`),
          )
      }
    })
    if (failed.length === 0) return { good, failures }
    const targets = await this.directory
      .replacements(blob.size, failed.length, [this.id, ...good, ...failed])
      .catch((error: unknown) => {
        this.log.warn({ err: error }, `no replacement replica for ${blob.sha256}: ${reason(error)}`)
        return []
      })
    for (const target of targets) {
      try {
        await this.copyTo(blob.sha256, target)
        good.push(target.id)
      } catch (error) {
        this.log.warn(
          { err: error },
          `replacement replica ${target.id} failed for ${blob.sha256}: ${reason(error)}`,
        )
      }
    }
    return { good, failures }
  }

  /** A replica's answer once it has every byte; one that never answers is given up on. */
  private answered(pipe: ReplicaPipe): Promise<StoredBlob> {
    const timer = setTimeout(
      () => pipe.fail(new DfsError('DFS_UNAVAILABLE', `replica ${pipe.replica.id} did not confirm its copy`)),
      ANSWER_MS,
    )
    return pipe.result.finally(() => clearTimeout(timer))
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
   * Tells the directory what we hold (every blob, or what changed since it last heard: see
   * inventory.ts), then deletes the blobs no kept version needs, once older than the grace period: a
   * write in flight has its blob in place a moment before the directory knows of it.
   */
  reconcile(now: number, options: InventoryOptions): Promise<InventoryRun> {
    return this.inventory.run(now, options)
  }

  /**
   * Re-hashes one blob; a bad one is quarantined and reported so repair replaces it. A read that
   * fails, or a report that fails, is an error for the scrub pass to log (the next inventory tells
   * the directory anyway).
   */
  async scrub(sha256: string): Promise<boolean> {
    // A failed read (EIO, too many open files, a blob collected meanwhile) says nothing about the
    // bytes: the blob stays, and only bytes that hash to something else are quarantined.
    let actual: string
    try {
      actual = await sha256OfStream(this.store.read(sha256))
    } catch (error) {
      throw new DfsError('DFS_UNAVAILABLE', `could not read blob ${sha256} to scrub it: ${reason(error)}`, {
        cause: error,
      })
    }
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

  /**
   * Reads a body into a new blob while copying every chunk to the replicas' pipes, at the pace of the
   * slowest. A replica that fails is left behind; one that takes nothing for STALL_MS is failed.
   */
  private async receive(
    body: Readable,
    pipes: ReplicaPipe[],
    length: number | undefined,
    hashing: WriterHashing,
  ): Promise<StoredBlob> {
    const writer = await this.store.createWriter({ hashing })
    const guard = memoryGuard()
    try {
      for await (const chunk of body) {
        guard((chunk as Buffer).length)
        if (length !== undefined && writer.bytes + (chunk as Buffer).length > length)
          throw bodyTooLong(length)
        const waits: Promise<unknown>[] = [writer.write(chunk as Buffer)]
        for (const p of pipes) {
          if (!p.pipe.destroyed && !p.pipe.write(chunk)) waits.push(drained(p))
        }
        await Promise.all(waits)
      }
      if (length !== undefined && writer.bytes < length) throw bodyTooShort(writer.bytes, length)
      for (const p of pipes) if (!p.pipe.destroyed) p.pipe.end()
      const blob = await writer.commit()
      this.inventory.stored(blob.sha256)
      return blob
    } catch (error) {
      await writer.abort()
      // Before the failure is answered: the writer may try again at once, and must find the room.
      if (writer.bytes > 0) await this.spaceFreed()
      throw error instanceof Error ? mapDiskError(error) : error
    }
  }
}

interface ReplicaPipe {
  replica: ReplicaTarget
  pipe: PassThrough
  /** What the replica stored; rejects with the reason it failed. */
  result: Promise<StoredBlob>
  /** Gives up on this replica: its request is aborted and its pipe closed. */
  fail(reason: DfsError): void
}

/** Why a replica's copy does not count, if it does not: it failed, or stored other bytes. */
function replicaFailure(
  replica: ReplicaTarget,
  outcome: PromiseSettledResult<StoredBlob>,
  blob: StoredBlob,
): DfsError | undefined {
  if (outcome.status === 'fulfilled') {
    const { sha256, size } = outcome.value
    if (sha256 === blob.sha256 && size === blob.size) return undefined
    return new DfsError(
      'DFS_UNAVAILABLE',
      `replica ${replica.id} failed during a write: stored other bytes (${sha256})`,
    )
  }
  const code = outcome.reason instanceof DfsError ? outcome.reason.code : 'DFS_UNAVAILABLE'
  return new DfsError(code, `replica ${replica.id} failed during a write: ${reason(outcome.reason)}`, {
    cause: outcome.reason,
  })
}

/**
 * A commit refused for too few copies says why the replicas failed; a replica's full disk is the
 * user's DFS_NO_SPACE, not a vague unavailability.
 */
function withReplicaFailures(error: unknown, failures: DfsError[]): unknown {
  if (!(error instanceof DfsError) || error.code !== 'DFS_UNAVAILABLE' || failures.length === 0) return error
  const code = failures.some((f) => f.code === 'DFS_NO_SPACE') ? 'DFS_NO_SPACE' : error.code
  return new DfsError(code, `${error.message}: ${failures.map((f) => f.message).join('; ')}`)
}

/** Resolves when a replica's pipe takes more bytes, or is gone; fails a replica that stalls. */
function drained(p: ReplicaPipe): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      p.pipe.off('drain', done)
      p.pipe.off('close', done)
      resolve()
    }
    const timer = setTimeout(() => {
      p.fail(
        new DfsError('DFS_UNAVAILABLE', `replica ${p.replica.id} took no bytes for ${STALL_MS / 1000} s`),
      )
      done()
    }, STALL_MS)
    p.pipe.once('drain', done)
    p.pipe.once('close', done)
  })
}
