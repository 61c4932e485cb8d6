import { Args, Flags } from '@oclif/core'
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Transform, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { boundedMemory } from '../streams/bounded-memory.ts'
import { progress } from '../cli/progress.ts'
import { UserCommand } from '../cli/user-command.ts'
import { DfsError } from '../protocol/errors.ts'
import { normaliseName } from '../protocol/names.ts'
import { sha256OfFile } from '../streams/hash.ts'

export default class Get extends UserCommand {
  static override summary = 'Fetch NAME into a local file, or to stdout with - (or when piped)'
  static override examples = [
    '<%= config.bin %> get docs/report.pdf ./report.pdf',
    '<%= config.bin %> get backups/photos.tar - | tar x',
  ]

  static override args = {
    name: Args.string({ description: 'name in dfs', required: true }),
    local: Args.string({ description: 'local file, or - for stdout' }),
  }

  static override flags = {
    offline: Flags.boolean({
      description: "if the directory cannot be reached, serve the proxy's cached copy (it may be stale)",
      default: false,
    }),
  }

  async run(): Promise<GetResult> {
    const { args, flags } = await this.parse(Get)
    const name = normaliseName(args.name)
    const toStdout = args.local === '-' || (args.local === undefined && !process.stdout.isTTY)
    if (toStdout && this.jsonEnabled())
      throw new DfsError('DFS_USAGE', '--json needs a local file to write to')
    const path = toStdout ? '-' : (args.local ?? basename(name))
    const client = await this.proxy(flags)
    // A local copy that is already the current version is left alone: no bytes move (ETag).
    const local = toStdout ? undefined : await localSha256(path)
    const response = await client.download(name, { offline: flags.offline, ifNoneMatch: local })
    const version = Number(response.headers['dfs-version'])
    if (response.statusCode === 304 && local) {
      response.resume()
      this.say(`${name} -> ${path}: already current (version ${version})`)
      return { name, path, sha256: local, version, unchanged: true }
    }
    if (response.headers['dfs-stale']) {
      process.stderr.write(
        `dfs: warning: the directory could not be reached; ${name} comes from the proxy's cache and may be stale\n`,
      )
    }
    const sha256 = String(response.headers['dfs-sha256'] ?? '')
    const check = verifier(sha256)
    const size = Number(response.headers['content-length'])
    const shown = await progress(`get ${name}`, Number.isFinite(size) ? size : undefined, !this.jsonEnabled())
    try {
      if (toStdout) {
        await pipeline(response, boundedMemory(), shown.stream, check.stream, process.stdout as Writable, {
          end: false,
        })
      } else {
        await writeAtomically(path, (out) =>
          pipeline(response, boundedMemory(), shown.stream, check.stream, out),
        )
      }
    } catch (error) {
      shown.fail()
      if (error instanceof DfsError) throw error
      throw new DfsError('DFS_UNAVAILABLE', `transfer of ${name} failed: ${(error as Error).message}`)
    }
    const summary = `${name} -> ${path}: ${check.size()} bytes, sha256 ${sha256}`
    // On stdout the bytes are the output; a summary there would corrupt the pipe.
    if (!shown.done(summary) && !toStdout) this.say(summary)
    return { name, path, size: check.size(), sha256, version, unchanged: false }
  }
}

interface GetResult {
  name: string
  path: string
  size?: number
  sha256: string
  version: number
  unchanged: boolean
}

async function localSha256(path: string): Promise<string | undefined> {
  try {
    return (await stat(path)).isFile() ? await sha256OfFile(path) : undefined
  } catch {
    return undefined
  }
}

/** Hashes what passes and fails at the end unless it is the sha256 the proxy announced. */
function verifier(expected: string): { stream: Transform; size: () => number } {
  const hash = createHash('sha256')
  let size = 0
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      size += chunk.length
      callback(null, chunk)
    },
    flush(callback) {
      const actual = hash.digest('hex')
      callback(
        actual === expected
          ? null
          : new DfsError('DFS_CORRUPT', `received bytes do not match sha256 ${expected}`),
      )
    },
  })
  return { stream, size: () => size }
}

/** Writes next to the target and renames into place only when the bytes are whole and verified. */
async function writeAtomically(path: string, write: (out: Writable) => Promise<void>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.dfs-${randomBytes(4).toString('hex')}`)
  try {
    await write(createWriteStream(tmp, { highWaterMark: 4 * 1024 * 1024, flags: 'wx' }))
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
}
