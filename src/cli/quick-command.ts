// The quick path's half that runs at start (in the bundle's entry): whether a command line is a plain
// `dfs put`, `dfs get`, `dfs write` or `dfs lock NAME -- CMD`, as scripts run them in a loop, that dfs
// can run without loading oclif, whose start-up costs more than the rest of a small transfer. It takes
// only argument lists it reads exactly as oclif's parser does; anything else (help, an unknown,
// repeated or abbreviated flag, a value that looks like a flag or is not a duration where one is
// wanted, `--` but for lock's command, a missing or extra argument) goes to oclif, which owns usage,
// help and their errors. ./quick-run.ts runs what it accepts.

import { parseDuration } from './duration-text.ts'

/** The flags of one command the quick path takes, as declared to oclif (test/unit checks the manifest). */
interface QuickSpec {
  /** How many arguments: at least, at most. */
  args: readonly [number, number]
  booleans: readonly string[]
  /** Flags with a value. */
  options: readonly string[]
  /** Short forms of booleans: `-q` for --quiet. */
  chars: Readonly<Record<string, string>>
  /** Flags holding a duration (./duration-text.ts), taken only when they read as one. */
  durations?: readonly string[]
  /** A command to run follows `--` (dfs lock): all that comes after it, as given. */
  command?: true
}

/** Every command's global flags (BaseCommand, UserCommand); --color also as --no-color. */
const GLOBAL = { booleans: ['json', 'color', 'no-color'], options: ['proxy', 'data'] }

/** The commands the quick path runs. */
export type QuickId = 'put' | 'get' | 'write' | 'lock'

export const QUICK_SPECS: Readonly<Record<QuickId, QuickSpec>> = {
  // put's and write's --wait and --ttl are left to oclif.
  put: { args: [2, 2], booleans: ['force', 'quiet'], options: [], chars: { q: 'quiet' } },
  get: { args: [1, 2], booleans: ['quiet', 'offline'], options: ['range'], chars: { q: 'quiet' } },
  write: { args: [1, 1], booleans: ['create', 'quiet'], options: [], chars: { q: 'quiet' } },
  // Only as `dfs lock NAME [flags] -- CMD...`: without the `--`, oclif decides what is the command.
  lock: { args: [1, 1], booleans: [], options: [], chars: {}, durations: ['wait', 'ttl'], command: true },
}

export interface QuickCommand {
  id: QuickId
  /** The arguments after the command's name, as given (where --color is read). */
  argv: string[]
  args: string[]
  /** Booleans present are true (`color` for --no-color too); options and durations hold their text. */
  flags: Record<string, string | true>
  /** What follows `--`, for a command that runs one. */
  command?: string[]
}

/** What oclif reads from the environment that changes a command's output: with any of them set, oclif runs it. */
const OCLIF_ENV = ['DEBUG', 'DFS_DEBUG', 'DFS_CONTENT_TYPE', 'CLI_FLAGS_DEBUG', 'OCLIF_PERFORMANCE']

/** The command, when the quick path can run `argv` (the arguments after `dfs`) as oclif would; else undefined. */
export function quickCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  stdoutIsTty = process.stdout.isTTY === true,
): QuickCommand | undefined {
  const [id, ...rest] = argv
  if (!isQuickId(id)) return undefined
  if (OCLIF_ENV.some((name) => (env[name] ?? '') !== '')) return undefined
  const spec = QUICK_SPECS[id]
  const booleans = new Set([...GLOBAL.booleans, ...spec.booleans])
  const options = new Set([...GLOBAL.options, ...spec.options])
  const args: string[] = []
  const flags: Record<string, string | true> = {}
  const set = (name: string, value: string | true): boolean => {
    if (name in flags) return false
    flags[name] = value
    return true
  }
  let command: string[] | undefined
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!
    if (token === '--') {
      if (!spec.command || i === rest.length - 1) return undefined
      command = rest.slice(i + 1)
      break
    }
    if (token === '-' || (token !== '' && !token.startsWith('-'))) {
      args.push(token)
      continue
    }
    const short = /^-([a-z])$/.exec(token)?.[1]
    if (short !== undefined) {
      const name = spec.chars[short]
      if (name === undefined || !set(name, true)) return undefined
      continue
    }
    const long = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(token)
    if (!long) return undefined
    const [, name = '', inline] = long
    if (booleans.has(name) && inline === undefined) {
      // --color and --no-color are one flag (read from argv by ./colour.ts): one of them, once.
      if (!set(name === 'no-color' ? 'color' : name, true)) return undefined
      continue
    }
    const isDuration = spec.durations?.includes(name) === true
    if (!options.has(name) && !isDuration) return undefined
    const value = inline ?? rest[++i]
    if (value === undefined || value === '' || value.startsWith('-') || !set(name, value)) return undefined
    // A duration that does not read as one is oclif's to refuse, in its words.
    if (isDuration && !readsAsDuration(value)) return undefined
  }
  if (args.length < spec.args[0] || args.length > spec.args[1]) return undefined
  if (spec.command && command === undefined) return undefined
  // oclif colours JSON on a terminal when the user has a theme: leave that to it.
  if (flags.json && stdoutIsTty) return undefined
  return { id, argv: rest, args, flags, ...(command ? { command } : {}) }
}

function readsAsDuration(text: string): boolean {
  try {
    parseDuration(text)
    return true
  } catch {
    return false
  }
}

// Own keys only: `dfs constructor` is no quick command.
function isQuickId(id: string | undefined): id is QuickId {
  return id !== undefined && Object.hasOwn(QUICK_SPECS, id)
}
