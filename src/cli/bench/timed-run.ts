// One process run for the benchmark: timed from spawn to exit, its peak memory sampled while it
// runs, killed if it outlives the time it is given.

import { spawn } from 'node:child_process'
import { residentBytes } from './proc.ts'

export interface Invocation {
  command: string
  prefix: string[]
}

export interface TimedRun {
  seconds: number
  /** The process's peak resident memory (VmHWM) as last sampled, at most 10 ms before it exited. */
  peakRss: number
  stdout: string
}

export function timedRun(
  invocation: Invocation,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<TimedRun> {
  const what = [invocation.command, ...invocation.prefix, ...args].join(' ')
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(invocation.command, [...invocation.prefix, ...args], {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let peakRss = 0
    let killed = false
    const sample = () => (peakRss = Math.max(peakRss, residentBytes(child.pid, 'VmHWM')))
    const sampler = setInterval(sample, 10)
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, options.timeoutMs)
    const done = () => {
      clearInterval(sampler)
      clearTimeout(timer)
    }
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    // The last sample, taken as the process ends (before the kernel forgets it).
    child.once('exit', sample)
    child.once('error', (error) => {
      done()
      reject(error)
    })
    child.once('close', (code) => {
      const seconds = (performance.now() - started) / 1000
      done()
      if (killed) reject(new Error(`${what}: took more than ${options.timeoutMs / 1000} s, killed`))
      else if (code !== 0) reject(new Error(`${what} failed (${code}): ${stderr.trim()}`))
      else resolve({ seconds, peakRss, stdout })
    })
  })
}
