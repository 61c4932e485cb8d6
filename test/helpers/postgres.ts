// A throwaway PostgreSQL server for tests: initdb in a temp dir, listening on a free loopback port
// (and a Unix socket in that dir), password authentication, stopped and removed at the end. As root
// (CI), initdb and the server run as the `postgres` user Debian's package makes, since initdb
// refuses to run as root.

import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

export interface TestPostgres {
  /** A connection string for `database` as the superuser (with its password). */
  url(database?: string): string
  /** Makes a new empty database; its connection string. */
  createDatabase(): Promise<string>
  /** Stops the server now (as a crash would: immediate mode), keeping its files. */
  kill(): Promise<void>
  /** Starts it again on the same port and files. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** The newest PostgreSQL installed from Debian's packages, or PG_BIN. */
function binDir(): string {
  if (process.env['PG_BIN']) return process.env['PG_BIN']
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does), or set PG_BIN',
    )
  }
  return join(root, versions[0]!, 'bin')
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = binDir()
  const root = process.getuid?.() === 0
  const dir = await mkdtemp(join(tmpdir(), 'dfs-pg-'))
  const data = join(dir, 'data')
  const password = randomBytes(12).toString('hex')
  const port = await freePort()
  // As root, every command runs as postgres, which must own the temp dir.
  const as = (command: string, args: string[]): [string, string[]] =>
    root ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]] : [join(bin, command), args]
  const pwfile = join(dir, 'pw')
  await writeFile(pwfile, password, { mode: 0o600 })
  if (root) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
    await chown(dir, uid, gid)
    await chown(pwfile, uid, gid)
  }
  await run(
    ...as('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
    ]),
  )
  const start = async () => {
    // fsync=off: a throwaway server's files need not survive the machine crashing, and its fsyncs
    // were most of the PostgreSQL tests' time. Every commit still reaches the server's log before it
    // is answered (synchronous_commit stays on), so a server killed mid-test loses nothing answered.
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=200 -c fsync=off`
    await run(...as('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']))
  }
  await start()
  const url = (database = 'postgres') => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`
  let made = 0
  return {
    url,
    async createDatabase() {
      const name = `dfs_${process.pid}_${++made}`
      const client = new pg.Client({ connectionString: url() })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return url(name)
    },
    async kill() {
      await run(...as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']))
    },
    restart: start,
    async stop() {
      await new Promise<void>((resolve) => {
        const [command, args] = as('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop'])
        spawn(command, args, { stdio: 'ignore' }).on('close', () => resolve())
      })
      await rm(dir, { recursive: true, force: true })
    },
  }
}
