// What a shell needs to complete dfs, read from oclif's commands (the manifest, or the command map):
// the words at each level, each command's flags, and what each positional argument is.

import type { Command } from '@oclif/core'

/** What an argument completes to: dfs names, local files, a fixed list, or nothing. */
export type ArgCompletion =
  { kind: 'names' } | { kind: 'files' } | { kind: 'words'; words: string[] } | { kind: 'none' }

export interface CompletableCommand {
  /** oclif's id: `put`, `user:add`. */
  id: string
  /** Every flag as typed: `--force`, `--no-color`, `-q`. */
  flags: string[]
  /** The flags that take a value, so the word after one is no argument. */
  valued: string[]
  args: ArgCompletion[]
}

export interface CompletionModel {
  commands: CompletableCommand[]
  /** Topics (`user`), `''` for the top level, to the next words under them. */
  children: Map<string, string[]>
}

// The commands' own convention: an argument called name or prefix is a dfs name, local a local path.
const DFS_NAME_ARGS = new Set(['name', 'prefix'])
const LOCAL_ARGS = new Set(['local'])

export function completionModel(commands: Command.Cached[]): CompletionModel {
  const shown = commands.filter((c) => !c.hidden).sort((a, b) => a.id.localeCompare(b.id))
  return { commands: shown.map(completable), children: childrenOf(shown.map((c) => c.id)) }
}

function completable(command: Command.Cached): CompletableCommand {
  const flags = Object.values(command.flags).filter((f) => !f.hidden)
  const typed = flags.flatMap((f) => [
    `--${f.name}`,
    ...(f.type === 'boolean' && f.allowNo ? [`--no-${f.name}`] : []),
    ...(f.char ? [`-${f.char}`] : []),
  ])
  const valued = flags
    .filter((f) => f.type === 'option')
    .flatMap((f) => [`--${f.name}`, ...(f.char ? [`-${f.char}`] : [])])
  return {
    id: command.id,
    flags: [...typed, '--help'],
    valued,
    args: Object.values(command.args).map(argCompletion),
  }
}

function argCompletion(arg: Command.Arg.Cached): ArgCompletion {
  if (arg.options) return { kind: 'words', words: [...arg.options] }
  if (DFS_NAME_ARGS.has(arg.name)) return { kind: 'names' }
  if (LOCAL_ARGS.has(arg.name)) return { kind: 'files' }
  return { kind: 'none' }
}

/** `user:add`, `user:rm`, `put` give '' → [put, user] and user → [add, rm]. */
function childrenOf(ids: string[]): Map<string, string[]> {
  const children = new Map<string, Set<string>>()
  for (const id of ids) {
    const parts = id.split(':')
    for (let depth = 0; depth < parts.length; depth++) {
      const parent = parts.slice(0, depth).join(':')
      const set = children.get(parent) ?? new Set<string>()
      set.add(parts[depth]!)
      children.set(parent, set)
    }
  }
  return new Map([...children].map(([parent, set]) => [parent, [...set].sort()]))
}
