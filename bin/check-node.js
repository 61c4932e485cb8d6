// The oldest Node.js dfs runs on, checked before anything else loads (bin/run.js, and the build:
// scripts/check-node.js): older ones fail later with a SyntaxError that says nothing useful. Plain
// JavaScript that Node 14 and later parse, so that it can say so on any Node that gets this far.

/** package.json "engines" says the same (a test holds them together). */
export const OLDEST_NODE = '22.13'

/** The line to print when `version` (process.versions.node, e.g. "20.20.2") is too old, else undefined. */
export function nodeTooOld(version) {
  const [major, minor] = version.split('.').map(Number)
  const [needMajor, needMinor] = OLDEST_NODE.split('.').map(Number)
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined
  return (
    `dfs: Node.js ${OLDEST_NODE} or newer is needed (this is v${version}); ` +
    'install Node.js 24 LTS from https://nodejs.org/en/download (or with nvm: `nvm install 24`)'
  )
}

/** Ends the program with that line, and status 1, on a Node that is too old. */
export function exitIfNodeTooOld() {
  const problem = nodeTooOld(process.versions.node)
  if (problem === undefined) return
  process.stderr.write(problem + '\n')
  process.exit(1)
}
