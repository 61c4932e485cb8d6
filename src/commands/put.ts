import { Args, Flags } from '@oclif/core'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { pipeline, type Readable } from 'node:stream'
import { boundedMemory } from '../streams/bounded-memory.ts'
import { progress } from '../cli/progress.ts'
import { UserCommand } from '../cli/user-command.ts'
import { DfsError } from '../protocol/errors.ts'
import { normaliseName } from '../protocol/names.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Put extends UserCommand {
  static override summary = 'Store a local file (or stdin with -) under NAME, on two file servers'
  static override examples = [
    '<%= config.bin %> put ./report.pdf docs/report.pdf',
    'tar c photos | <%= config.bin %> put - backups/photos.tar',
  ]

  static override args = {
    local: Args.string({ description: 'local file, or - for stdin', required: true }),
    name: Args.string({ description: 'name in dfs', required: true }),
  }

  static override flags = {
    force: Flags.boolean({ description: 'replace NAME if it exists', default: false }),
  }

  async run(): Promise<FileVersion> {
    const { args, flags } = await this.parse(Put)
    const name = normaliseName(args.name)
    const { source, length } = await openLocal(args.local)
    const client = await this.proxy(flags)
    const shown = progress(`put ${name}`, length, !this.jsonEnabled())
    // pipeline, not .pipe(): a read error must end the upload, not leave it waiting for more bytes.
    const body = pipeline(source, boundedMemory(), shown.stream, () => undefined)
    let version: FileVersion
    try {
      version = await client.upload(name, body, { length, force: flags.force })
    } catch (error) {
      shown.fail()
      throw error
    }
    const summary = `${version.name}: version ${version.version}, ${version.size} bytes, sha256 ${version.sha256}`
    if (!shown.done(summary)) this.say(summary)
    return version
  }
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
