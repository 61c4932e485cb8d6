// `dfs up`, as the README's first command: a whole cluster from one command, a saved login that the
// next commands use with no flags, and a clean stop on SIGTERM.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { BIN, nodeInvocation, runCli } from '../helpers/cluster.ts'

test('dfs up starts a working cluster, logs in, and stops everything on SIGTERM', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dfs-up-'))
  const env: NodeJS.ProcessEnv = { ...process.env, DFS_CONFIG_DIR: join(root, 'config') }
  delete env.DFS_PROXY
  delete env.DFS_USER
  delete env.DFS_PASSWORD
  const up = spawn(process.execPath, [BIN, 'up', '--fileservers', '2', '--data', join(root, 'data')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)))
  try {
    let stderr = ''
    up.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const ready = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: up.stdout })
      lines.on('line', (line) => line.startsWith('dfs is up') && resolve(line))
      void exited.then((code) => reject(new Error(`dfs up exited (${code}): ${stderr}`)))
    })
    assert.match(ready, /2 file servers, proxy https:\/\/127\.0\.0\.1:\d+/)

    // No --proxy, no credentials: the login dfs up saved is enough.
    const cli = (args: string[], input?: string) => runCli(nodeInvocation, args, { env, input })
    const put = await cli(['put', '-', 'hello.txt'], 'hello from dfs up\n')
    assert.equal(put.code, 0, put.stderr)
    const get = await cli(['get', 'hello.txt', '-'])
    assert.equal(get.stdout.toString(), 'hello from dfs up\n')
    const status = JSON.parse((await cli(['status', '--json'])).stdout.toString()) as {
      servers: { live: boolean }[]
    }
    assert.equal(status.servers.filter((s) => s.live).length, 2)

    const children = await childPids(up.pid!)
    assert.equal(children.length, 4, 'a directory, two file servers and a proxy')
    up.kill('SIGTERM')
    assert.equal(await exited, 0)
    for (const pid of children) assert.equal(alive(pid), false, `role ${pid} still running`)
  } finally {
    up.kill('SIGKILL')
    await rm(root, { recursive: true, force: true })
  }
})

async function childPids(parent: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises')
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === parent) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
