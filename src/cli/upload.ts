// Uploading a local file or stdin through the proxy, with a progress spinner on a terminal: shared by
// put, write and edit.

import { stderrChalk } from './colour.ts'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { pipeline, type Readable } from 'node:stream'
import type { ProxyClient } from '../client/proxy-client.ts'
import { DfsError } from '../protocol/errors.ts'
import type { CommittedVersion, FileVersion } from '../protocol/types.ts'
import { boundedMemory } from '../streams/bounded-memory.ts'
import { progress } from './progress.ts'

export interface UploadOptions {
  /** The key of the write lease to write under. */
  lease?: string
  create?: boolean
  /** Show a spinner (a terminal, and not --json). */
  show: boolean
}

/** Uploads `local` ('-' for stdin) as `name`; returns the new version and says so on a terminal. */
export async function upload(
  client: ProxyClient,
  local: string,
  name: string,
  options: UploadOptions,
): Promise<{ version: CommittedVersion; shown: boolean }> {
  const { source, length } = await openLocal(local)
  const shown = await progress(`put ${name}`, length, options.show)
  // pipeline, not .pipe(): a read error must end the upload, not leave it waiting for more bytes.
  const body = pipeline(source, boundedMemory(), shown.stream, () => undefined)
  let version: CommittedVersion
  try {
    version = await client.upload(name, body, { length, lease: options.lease, create: options.create })
  } catch (error) {
    shown.fail()
    throw error
  }
  const result = { version, shown: shown.done(describe(version)) }
  warnIfShort(version)
  return result
}

/** The cluster acknowledged fewer copies than it keeps (--min-copies below R): say so, on stderr. */
function warnIfShort(version: CommittedVersion): void {
  const { holders, wanted } = version
  if (holders.length >= wanted) return
  process.stderr.write(
    `${stderrChalk().yellow('dfs: warning:')} ${version.name} is on ${holders.length} of ${wanted} file servers; repair adds the missing ${wanted - holders.length === 1 ? 'copy' : 'copies'} as soon as a server can take ${wanted - holders.length === 1 ? 'it' : 'them'}\n`,
  )
}

export function describe(version: FileVersion): string {
  return `${version.name}: version ${version.version}, ${version.size} bytes, sha256 ${version.sha256}`
}

async function openLocal(path: string): Promise<{ source: Readable; length?: number }> {
  if (path === '-') return { source: process.stdin }
  let info
  try {
    info = await stat(path)
  } catch {
    throw new DfsError('DFS_NOT_FOUND', `no such local file: ${path}`)
  }
  if (!info.isFile()) throw new DfsError('DFS_BAD_REQUEST', `not a regular file: ${path}`)
  return { source: createReadStream(path, { highWaterMark: 1024 * 1024 }), length: info.size }
}
