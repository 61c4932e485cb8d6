// What dfs says to a command it does not have (`dfs stats`): a one-line usage error, with the
// nearest commands when they are close enough to be a slip of the fingers (`did you mean dfs stat
// or dfs status?`). oclif's command_not_found hook; plugin-not-found asks a question on a terminal.

import type { Hook } from '@oclif/core'
import { closest } from './edit-distance.ts'

export const commandNotFound: Hook<'command_not_found'> = async function ({ config, id }) {
  const typed = unknownPart(id.split(':'), new Set(config.topics.map((t) => t.name)))
  const depth = typed.split(':').length
  const known = [...new Set([...config.commandIDs, ...config.topics.map((t) => t.name)])].filter(
    (name) => name.split(':').length === depth,
  )
  const words = (name: string) => `${config.bin} ${name.replaceAll(':', ' ')}`
  const guesses = closest(known, typed).map(words)
  const suggestion = guesses.length > 0 ? `; did you mean ${guesses.join(' or ')}?` : ''
  const topic = typed.includes(':') ? ` ${typed.slice(0, typed.lastIndexOf(':')).replaceAll(':', ' ')}` : ''
  process.stderr.write(
    `dfs: DFS_USAGE: unknown command ${typed.replaceAll(':', ' ')}${suggestion} (see ${config.bin} help${topic})\n`,
  )
  process.exitCode = 2
}

/**
 * The command as typed, up to its first word that is no topic: oclif joins every word it cannot place
 * into the id (`dfs cp a b` is "cp:a:b", `dfs user bogus x` is "user:bogus:x").
 */
function unknownPart(words: string[], topics: Set<string>): string {
  const part: string[] = []
  for (const word of words) {
    part.push(word)
    if (!topics.has(part.join(':'))) break
  }
  return part.join(':')
}
