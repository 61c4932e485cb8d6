// Which files a dfs process loaded, and which packages those files hold: run it with
// `loadedModulesEnv(file)` in its environment and read the record with `loadedFiles(file)`. The
// hook itself is ./record-modules.ts, loaded with --import through NODE_OPTIONS.

import { readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(import.meta.dirname, '../..')
const HOOK = resolve(import.meta.dirname, 'record-modules.ts')

/** The environment that makes a Node process record every module it loads into `file`. */
export function loadedModulesEnv(file: string): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: `--import=${HOOK}`, DFS_TEST_MODULES: file }
}

/** Node's own internal modules the process loaded (`internal/deps/undici/undici`, ...). */
export function loadedInternals(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('node:internal/'))
    .map((line) => line.slice('node:'.length))
}

/** The files (not built-ins) the process loaded, relative to the repository root. */
export function loadedFiles(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith('file:'))
    .map((url) => relative(ROOT, fileURLToPath(url)))
}

/** The packages held by the bundle's files among `files`, from dist/bundle/contents.json. */
export function bundledPackages(files: string[]): Set<string> {
  const contents = JSON.parse(readFileSync(resolve(ROOT, 'dist/bundle/contents.json'), 'utf8')) as Record<
    string,
    Record<string, number>
  >
  const packages = new Set<string>()
  for (const file of files) {
    const inBundle = relative('dist/bundle', file)
    const held = contents[inBundle]
    if (!held) continue
    for (const name of Object.keys(held)) packages.add(name)
  }
  return packages
}
