// The work of `dfs get`, apart from oclif: run by the get command and by the quick path alike.

import { randomBytes } from 'node:crypto'
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { rangeFlag } from '../protocol/byte-range.ts'
import { DfsError } from '../protocol/errors.ts'
import { normaliseName } from '../protocol/names.ts'
import { receivingPace } from '../streams/bounded-memory.ts'
import type { Put } from '../streams/checked-writer.ts'
import { sha256OfFile } from '../streams/hash.ts'
import { alignedRangeHeader, checkedBody, type CheckedBody } from './block-checked.ts'
import type { CommandContext } from './command-context.ts'
import { localTarget } from './local-target.ts'
import { progress } from './progress.ts'

export interface GetInput {
  name: string
  local?: string
  quiet: boolean
  offline: boolean
  range?: string
  proxy?: string
  data?: string
}

export async function getFile(input: GetInput, context: CommandContext): Promise<GetResult> {
  const name = normaliseName(input.name)
  const toStdout = input.local === '-' || (input.local === undefined && !process.stdout.isTTY)
  if (toStdout && context.json) throw new DfsError('DFS_USAGE', '--json needs a local file to write to')
  const path = toStdout ? '-' : await localTarget(input.local, name)
  const client = await context.proxy(input)
  const wanted = input.range === undefined ? undefined : rangeFlag(input.range)
  // A local copy that is already the current version is left alone: no bytes move (ETag).
  const local = toStdout || wanted ? undefined : await localSha256(path)
  // A range is asked for widened to whole blocks, the only bytes that can be checked.
  const range =
    input.range === undefined
      ? undefined
      : alignedRangeHeader(
          input.range,
          input.range.startsWith('-') ? (await client.stat(name)).size : undefined,
        )
  const response = await client.download(name, {
    offline: input.offline,
    ...(local ? { ifNoneMatch: local } : {}),
    ...(range ? { range } : {}),
  })
  const version = Number(response.headers['dfs-version'])
  if (response.statusCode === 304 && local) {
    response.resume()
    context.say(`${name} -> ${path}: already current (version ${version})`)
    return { name, path, sha256: local, version, unchanged: true }
  }
  if (response.headers['dfs-stale']) {
    process.stderr.write(
      `dfs: warning: the directory could not be reached; ${name} comes from the proxy's cache and may be stale\n`,
    )
  }
  let body: CheckedBody
  try {
    body = await checkedBody(client, name, response, wanted)
  } catch (error) {
    response.destroy()
    throw error
  }
  const { sha256 } = body
  const length = body.range.end - body.range.start
  const shown = await progress(`get ${name}`, length, !context.json && !input.quiet)
  receivingPace()
  const shownAs =
    (put: Put): Put =>
    (bytes) => {
      shown.advance(bytes.length)
      return put(bytes)
    }
  try {
    if (toStdout) await pipeline(response, body.sink(shownAs(toStandardOutput)))
    else await writeAtomically(path, (file) => pipeline(response, body.sink(shownAs(toFile(file)))))
  } catch (error) {
    shown.fail()
    if (error instanceof DfsError) throw error
    throw new DfsError('DFS_UNAVAILABLE', `transfer of ${name} failed: ${(error as Error).message}`)
  }
  const bytes = body.passed()
  const part = wanted ? ` (bytes ${body.range.start}-${body.range.end - 1} of ${body.fileSize})` : ''
  const summary = `${name} -> ${path}: ${bytes} bytes${part}, sha256 ${sha256}`
  // On stdout the bytes are the output; a summary there would corrupt the pipe.
  if (!shown.done(summary) && !toStdout) context.say(summary)
  return {
    name,
    path,
    size: bytes,
    sha256,
    version,
    unchanged: false,
    ...(wanted
      ? { range: { start: body.range.start, end: body.range.end - 1 }, fileSize: body.fileSize }
      : {}),
  }
}

export interface GetResult {
  name: string
  path: string
  size?: number
  sha256: string
  version: number
  unchanged: boolean
  /** With --range: the bytes written (inclusive), and the whole file's size. */
  range?: { start: number; end: number }
  fileSize?: number
}

async function localSha256(path: string): Promise<string | undefined> {
  try {
    return (await stat(path)).isFile() ? await sha256OfFile(path) : undefined
  } catch {
    return undefined
  }
}

/**
 * Writes next to the target and renames into place only when the bytes are whole and verified. A
 * target that exists and is not a regular file (/dev/null, a named pipe, a terminal) is written in
 * place: a rename would replace the device or pipe itself with a file, which for /dev/null run as
 * root breaks every program on the machine.
 */
async function writeAtomically(path: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  if (await isSpecial(path)) return withFile(path, 'w', write)
  const tmp = join(dirname(path), `.${basename(path)}.dfs-${randomBytes(4).toString('hex')}`)
  try {
    await withFile(tmp, 'wx', write)
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
}

async function withFile(path: string, flags: string, write: (file: FileHandle) => Promise<void>) {
  const file = await open(path, flags)
  try {
    await write(file)
  } finally {
    await file.close()
  }
}

/** Writes each piece at the file's position, whole. */
function toFile(file: FileHandle): Put {
  return async (bytes) => {
    for (let at = 0; at < bytes.length;) at += (await file.write(bytes, at, bytes.length - at)).bytesWritten
  }
}

/** Resolves once stdout is done with the bytes (a pipe's reader going away ends dfs: broken-pipe.ts). */
const toStandardOutput: Put = (bytes) =>
  new Promise((resolve, reject) =>
    process.stdout.write(bytes, (error) => (error ? reject(error) : resolve())),
  )

/** Whether `path` exists and is neither a regular file nor a directory (localTarget handles those). */
async function isSpecial(path: string): Promise<boolean> {
  return stat(path).then(
    (found) => !found.isFile() && !found.isDirectory(),
    () => false,
  )
}
