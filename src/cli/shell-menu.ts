// The seed's interactive client, as `dfs shell`: a numbered menu (read, request write mode, write and
// release, upload a new file; list, status, quit), asking for names with completion from the
// namespace. Each choice runs the same code as its command (dfs get, dfs put, dfs ls, dfs status),
// so it prints the same output and the same one-line errors; a bad choice or name is said once and
// the menu comes back.

import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createInterface, type Interface } from 'node:readline/promises'
import type { ProxyClient } from '../client/proxy-client.ts'
import { DfsError } from '../protocol/errors.ts'
import { normaliseName } from '../protocol/names.ts'
import { HeldLease } from './lease.ts'
import { describe, upload } from './upload.ts'

/** Runs another dfs command in this process (oclif's runCommand); true if it succeeded. */
export type RunCommand = (id: string, argv: string[]) => Promise<boolean>

export interface ShellOptions {
  client: ProxyClient
  user: string
  /** Where local copies live: NAME is read to and written from DIR/NAME. */
  dir: string
  run: RunCommand
  waitMs: number
  ttlMs: number
}

export const MENU = [
  '  1  read a file            (download it to its local copy)',
  '  2  request write mode     (take its lock and download it)',
  '  3  write                  (upload the edited local copy and release the lock)',
  '  4  upload a new file',
  '  l  list    s  status    q  quit',
].join('\n')

const COMPLETIONS = 50
const NAME_PROMPT = 'file name> '

export class Shell {
  private readonly options: ShellOptions
  private readonly held = new Map<string, HeldLease>()
  private rl?: Interface
  /** What is being asked: names are completed only where a dfs name is wanted. */
  private asking = ''

  constructor(options: ShellOptions) {
    this.options = options
  }

  async run(): Promise<void> {
    const { client, user, dir } = this.options
    const rl = createInterface({
      input: process.stdin,
      output: process.stdout,
      completer: async (line: string): Promise<[string[], string]> => [
        await this.complete(line).catch(() => []),
        line,
      ],
    })
    this.rl = rl
    process.stdout.write(`dfs shell: ${user} at ${client.url}; local copies in ${dir}\n`)
    try {
      for (;;) {
        process.stdout.write(`\n${MENU}\n`)
        const choice = (await this.ask('choice> ')).trim().toLowerCase()
        if (choice === 'q' || choice === 'quit') break
        await this.choose(choice)
      }
    } finally {
      rl.close()
      for (const [name, lease] of this.held) {
        await lease.release()
        process.stdout.write(`released the lock on ${name}\n`)
      }
    }
  }

  private async ask(prompt: string): Promise<string> {
    this.asking = prompt
    try {
      return await this.rl!.question(prompt)
    } catch {
      // Input ended (Ctrl-D, or the end of a script): as quit.
      return 'q'
    }
  }

  private async choose(choice: string): Promise<void> {
    try {
      switch (choice) {
        case '1':
          return await this.read(await this.askName())
        case '2':
          return await this.requestWrite(await this.askName())
        case '3':
          return await this.write(await this.askName())
        case '4':
          return await this.uploadNew()
        case 'l':
        case 'list':
          return void (await this.options.run('ls', []))
        case 's':
        case 'status':
          return void (await this.options.run('status', []))
        case '':
          return
        default:
          throw new DfsError(
            'DFS_USAGE',
            `unknown choice ${JSON.stringify(choice)}: give 1, 2, 3, 4, l, s or q`,
          )
      }
    } catch (error) {
      const { code, message } =
        error instanceof DfsError ? error : { code: 'DFS_INTERNAL', message: String(error) }
      process.stderr.write(`dfs: ${code}: ${message}\n`)
    }
  }

  private async askName(): Promise<string> {
    const raw = (await this.ask(NAME_PROMPT)).trim()
    if (raw === '') throw new DfsError('DFS_USAGE', 'a file name is needed')
    return normaliseName(raw)
  }

  /** Where NAME's local copy lives (names are relative and hold no '..': always inside dir). */
  private async local(name: string): Promise<string> {
    const path = join(this.options.dir, name)
    await mkdir(dirname(path), { recursive: true })
    return path
  }

  private async read(name: string): Promise<void> {
    await this.options.run('get', [name, await this.local(name)])
  }

  private async requestWrite(name: string): Promise<void> {
    if (this.held.has(name))
      throw new DfsError('DFS_USAGE', `you already hold the lock on ${name}: write it (3)`)
    const { client, waitMs, ttlMs } = this.options
    process.stdout.write(`waiting for the lock on ${name}...\n`)
    const lease = await HeldLease.acquire(client, name, waitMs, ttlMs)
    this.held.set(name, lease)
    process.stdout.write(`write mode on ${name}: edit ${await this.local(name)}, then write it (3)\n`)
    // A new name has nothing to download yet.
    if (await exists(client, name)) await this.options.run('get', [name, await this.local(name)])
  }

  private async write(name: string): Promise<void> {
    const lease = this.held.get(name)
    if (!lease) throw new DfsError('DFS_USAGE', `request write mode on ${name} first (2)`)
    const { version } = await upload(this.options.client, await this.local(name), name, {
      lease: lease.key,
      create: true,
      show: Boolean(process.stdout.isTTY),
    })
    process.stdout.write(`${describe(version)}\n`)
    await lease.release()
    this.held.delete(name)
    process.stdout.write(`released the lock on ${name}\n`)
  }

  private async uploadNew(): Promise<void> {
    const path = (await this.ask('local file> ')).trim()
    if (path === '') throw new DfsError('DFS_USAGE', 'a local file is needed')
    const name = await this.askName()
    await this.options.run('put', [path, name])
  }

  /** Names that start with what was typed: the files and folders one level down. */
  private async complete(line: string): Promise<string[]> {
    if (this.asking !== NAME_PROMPT) return []
    const page = await this.options.client.listPage({ prefix: line, delimiter: '/', limit: COMPLETIONS })
    return [...(page.prefixes ?? []), ...page.files.map((f) => f.name)].sort()
  }
}

async function exists(client: ProxyClient, name: string): Promise<boolean> {
  try {
    await client.stat(name)
    return true
  } catch (error) {
    if (error instanceof DfsError && error.code === 'DFS_NOT_FOUND') return false
    throw error
  }
}
