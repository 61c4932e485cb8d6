import { Args, Flags } from '@oclif/core'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { boundedMemory } from '../streams/bounded-memory.ts'
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
    const { body, length } = await openLocal(args.local)
    const client = await this.proxy(flags)
    const version = await client.upload(name, body, { length, force: flags.force })
    this.say(`${version.name}: version ${version.version}, ${version.size} bytes, sha256 ${version.sha256}`)
    return version
  }
}

async function openLocal(path: string): Promise<{ body: Readable; length?: number }> {
  if (path === '-') return { body: process.stdin.pipe(boundedMemory()) }
  let info
  try {
    info = await stat(path)
  } catch {
    throw new DfsError('DFS_NOT_FOUND', `no such local file: ${path}`)
  }
  if (!info.isFile()) throw new DfsError('DFS_BAD_REQUEST', `not a regular file: ${path}`)
  return {
    body: createReadStream(path, { highWaterMark: 1024 * 1024 }).pipe(boundedMemory()),
    length: info.size,
  }
}
