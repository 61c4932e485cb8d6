// Reading a password: hidden prompt on a terminal, first line of stdin when scripted.

import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'

export async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) return firstLine()
  let muted = false
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) process.stderr.write(chunk)
      callback()
    },
  })
  const rl = createInterface({ input: process.stdin, output, terminal: true })
  try {
    return await new Promise<string>((resolve) => {
      rl.question(prompt, (answer) => resolve(answer))
      muted = true
    })
  } finally {
    rl.close()
    process.stderr.write('\n')
  }
}

async function firstLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin })
  try {
    for await (const line of rl) return line
    return ''
  } finally {
    rl.close()
  }
}
