// The proxy: the user-facing side of the cluster. It checks sessions, asks the directory where a file
// goes or lives, streams uploads to the primary and downloads from a replica first (the seed's rule),
// verifying the sha256 of every byte it passes on.

import { createHash } from 'node:crypto'
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream'
import type { Agent } from 'undici'
import type { DirectoryClient } from '../../client/directory-client.ts'
import { getStream, putStream } from '../../client/streams.ts'
import { DfsError } from '../../protocol/errors.ts'
import type { FileVersion, Located, ServerView } from '../../protocol/types.ts'
import type { Clock } from '../../server/clock.ts'
import { boundedMemory, memoryGuard } from '../../streams/bounded-memory.ts'

const SESSION_CACHE_MS = 30_000

export interface Download {
  file: Located
  body: Readable
  from: ServerView
}

export class ProxyService {
  readonly id: number
  readonly directory: DirectoryClient
  private readonly agent: Agent
  private readonly clock: Clock
  private readonly sessions = new Map<string, { user: string; checked: number; expires: number }>()

  constructor(id: number, directory: DirectoryClient, agent: Agent, clock: Clock) {
    this.id = id
    this.directory = directory
    this.agent = agent
    this.clock = clock
  }

  async authenticate(token: string): Promise<string> {
    const now = this.clock.now()
    const cached = this.sessions.get(token)
    if (cached && now - cached.checked < SESSION_CACHE_MS && now < cached.expires) return cached.user
    const session = await this.directory.checkSession(token)
    if (this.sessions.size > 10_000) this.sessions.clear()
    this.sessions.set(token, { user: session.user, checked: now, expires: session.expires })
    return session.user
  }

  async upload(
    user: string,
    name: string,
    body: Readable,
    options: { length?: number; token?: number; create?: boolean },
  ): Promise<FileVersion> {
    const placement = await this.directory.place(name, options.length ?? 0, {
      token: options.token,
      create: options.create,
    })
    const query = new URLSearchParams({
      name,
      expectedVersion: String(placement.expectedVersion),
      writer: user,
      replicas: JSON.stringify(placement.replicas.map((r) => ({ id: r.id, url: r.url }))),
    })
    if (options.length !== undefined) query.set('length', String(options.length))
    if (options.token !== undefined) query.set('token', String(options.token))
    return putStream<FileVersion>(
      this.agent,
      `${placement.primary.url}/v1/blobs?${query}`,
      // pipeline, not .pipe(): a client that hangs up must abort the upload to the primary (which
      // then drops its temp file and its replicas'), not leave it waiting for bytes forever.
      pipeline(body, boundedMemory(), () => undefined),
      options.length === undefined ? {} : { 'content-length': String(options.length) },
      `file server ${placement.primary.id}`,
    )
  }

  /** Opens the file on the first holder that answers: replicas before the primary, live ones first. */
  async download(name: string): Promise<Download> {
    const file = await this.directory.locate(name)
    const order = [...file.servers].sort((a, b) => rank(a, file) - rank(b, file))
    let lastError: unknown = new DfsError('DFS_UNAVAILABLE', `no live server holds ${name}`)
    for (const server of order) {
      try {
        const response = await getStream(
          this.agent,
          `${server.url}/v1/blobs/${file.sha256}`,
          {},
          `file server ${server.id}`,
        )
        const body = pipeline(response.body, verifying(file.sha256, file.size, server.id), () => undefined)
        return { file, from: server, body }
      } catch (error) {
        lastError = error
      }
    }
    throw lastError
  }
}

function rank(server: ServerView, file: FileVersion): number {
  return (server.live ? 0 : 2) + (server.id === file.primary ? 1 : 0)
}

/** Passes bytes through and fails the stream at the end if they are not the bytes the directory named. */
export function verifying(sha256: string, size: number, source: number): Transform {
  const hash = createHash('sha256')
  const guard = memoryGuard()
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk)
      seen += chunk.length
      guard(chunk.length)
      if (seen > size)
        return callback(new DfsError('DFS_CORRUPT', `file server ${source} sent too many bytes`))
      callback(null, chunk)
    },
    flush(callback: TransformCallback) {
      const actual = hash.digest('hex')
      if (seen !== size || actual !== sha256) {
        return callback(
          new DfsError('DFS_CORRUPT', `file server ${source} sent bytes that do not match sha256 ${sha256}`),
        )
      }
      callback()
    },
  })
}
