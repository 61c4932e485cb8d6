import { Args } from '@oclif/core'
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { HeldLease } from '../cli/lease.ts'
import { leaseFlags } from '../cli/lease-flags.ts'
import { describe, upload } from '../cli/upload.ts'
import { UserCommand } from '../cli/user-command.ts'
import { transferFlags } from '../cli/transfer-flags.ts'
import type { ProxyClient } from '../client/proxy-client.ts'
import { DfsError } from '../protocol/errors.ts'
import { normaliseName } from '../protocol/names.ts'
import { sha256OfFile } from '../streams/hash.ts'
import type { FileVersion } from '../protocol/types.ts'

export default class Edit extends UserCommand {
  static override summary = "Edit NAME in $VISUAL / $EDITOR under its write lock (the seed's write mode)"
  static override description =
    'Takes the write lock (waiting in line), fetches the file, opens your editor, uploads the result if it changed, and releases the lock. If the lock was lost meanwhile (you took longer than its TTL while frozen or cut off, and someone else wrote), your text is kept as NAME.conflict-<user>-<time> instead of overwriting theirs.'
  static override examples = [
    '<%= config.bin %> edit notes/todo.txt',
    'EDITOR=nano <%= config.bin %> edit notes/todo.txt',
  ]

  static override args = {
    name: Args.string({ description: 'name in dfs (new names are created)', required: true }),
  }

  static override flags = { ...leaseFlags, ...transferFlags }

  async run(): Promise<{ name: string; changed: boolean; version?: FileVersion; conflict?: string }> {
    const { args, flags } = await this.parse(Edit)
    const name = normaliseName(args.name)
    const client = await this.proxy(flags)
    const lease = await HeldLease.acquire(client, name, flags.wait, flags.ttl)
    const dir = await mkdtemp(join(tmpdir(), 'dfs-edit-'))
    try {
      const file = join(dir, basename(name))
      const before = await fetchInto(client, name, file)
      await openEditor(file)
      const after = await sha256OfFile(file)
      if (after === before) {
        this.say(`${name}: unchanged`)
        return { name, changed: false }
      }
      if (!lease.lost) {
        try {
          const { version, shown } = await upload(client, file, name, {
            show: !this.jsonEnabled() && !flags.quiet,
            lease: lease.key,
            create: true,
          })
          if (!shown) this.say(describe(version))
          return { name, changed: true, version }
        } catch (error) {
          if (!(error instanceof DfsError && error.code === 'DFS_CONFLICT')) throw error
        }
      }
      // The lease was lost: someone else may have written. Keep this text beside theirs.
      const { user } = await client.whoami()
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')
      const conflict = normaliseName(`${name}.conflict-${user}-${stamp}`)
      await upload(client, file, conflict, { show: false })
      throw new DfsError(
        'DFS_CONFLICT',
        `the lock on ${name} was lost while you edited; your text is saved as ${conflict}`,
      )
    } finally {
      await lease.release()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** Downloads the current content (none for a new name) and returns its sha256. */
async function fetchInto(client: ProxyClient, name: string, file: string): Promise<string> {
  try {
    const response = await client.download(name)
    await pipeline(response, createWriteStream(file))
  } catch (error) {
    if (!(error instanceof DfsError && error.code === 'DFS_NOT_FOUND')) throw error
    await writeFile(file, '')
  }
  return sha256OfFile(file)
}

/** Runs $VISUAL, $EDITOR or vi on the file, through the shell so "code --wait" works too. */
function openEditor(file: string): Promise<void> {
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi'
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${editor} "$1"`, 'dfs-edit', file], { stdio: 'inherit' })
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new DfsError('DFS_USAGE', `the editor (${editor}) exited with status ${code}`)),
    )
  })
}
