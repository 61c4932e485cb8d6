// `dfs --version` without oclif, whose loading takes longer than the rest of the program: the line
// oclif prints (its Config.userAgent), from the package.json section a bundle carries.

import { existsSync, readFileSync } from 'node:fs'
import { arch, release } from 'node:os'

interface Package {
  name: string
  version: string
  oclif: { hooks?: Record<string, unknown>; additionalVersionFlags?: string[] }
}

/**
 * The version line when dfs can print it itself, else undefined and oclif answers: for other
 * arguments, with an oclif init hook (it runs before oclif prints it), or on a Linux that may be
 * WSL, which oclif names `wsl` by checks not worth copying.
 */
export function quickVersion(argv: readonly string[], pkg: Package): string | undefined {
  // oclif looks at the first argument only: `dfs --version anything` prints the version too.
  const flags = ['--version', ...(pkg.oclif.additionalVersionFlags ?? [])]
  if (argv[0] === undefined || !flags.includes(argv[0]) || pkg.oclif.hooks?.init !== undefined)
    return undefined
  if (process.platform === 'linux' && mayBeWsl()) return undefined
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  return `${pkg.name}/${pkg.version} ${process.platform}-${cpu} node-${process.version}`
}

/** Any of the signs is-wsl (oclif's test) looks for, without its exceptions for containers. */
function mayBeWsl(): boolean {
  if (release().toLowerCase().includes('microsoft')) return true
  if (existsSync('/proc/sys/fs/binfmt_misc/WSLInterop') || existsSync('/run/WSL')) return true
  return (
    existsSync('/proc/version') && readFileSync('/proc/version', 'utf8').toLowerCase().includes('microsoft')
  )
}
