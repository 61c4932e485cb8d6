// Asking the user: a hidden password prompt on a terminal (first line of stdin when scripted), and a
// yes/no question, asked only on a terminal.

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

/** Asks a yes/no question on the terminal; false when there is none to ask on. */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve))
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
