// Whether dfs colours its messages on stderr: chalk decides from the terminal and FORCE_COLOR, but
// NO_COLOR (https://no-color.org) and a global --no-color turn colour off whatever else says, as
// oclif's own colouring (ansis) does. Read from the raw arguments, so a usage error is plain too.
// (The flag itself is declared in ./base-command.ts, so that this file loads no oclif.)

import { Chalk, chalkStderr, type ChalkInstance, type ColorSupportLevel } from 'chalk'

/** false when colour is refused (NO_COLOR, --no-color), true when asked for (--color), else undefined. */
export function colourWanted(
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): boolean | undefined {
  const flags = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  if (flags.includes('--no-color') || (env.NO_COLOR ?? '') !== '') return false
  if (flags.includes('--color')) return true
  return undefined
}

/** chalk for stderr, at level 0 when colour is refused, with at least basic colours when asked for. */
export function stderrChalk(argv?: readonly string[], env?: NodeJS.ProcessEnv): ChalkInstance {
  const wanted = colourWanted(argv, env)
  if (wanted === undefined) return chalkStderr
  const level: ColorSupportLevel = wanted ? (Math.max(chalkStderr.level, 1) as ColorSupportLevel) : 0
  return new Chalk({ level })
}
