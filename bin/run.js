#!/usr/bin/env node
// The dfs program: the bundle in dist/bundle/ (made by npm run build, so by npm ci and npm pack too),
// else, or with DFS_UNBUNDLED=1, the compiled modules in dist/ through oclif.
import { existsSync } from 'node:fs'
import { enableCompileCache } from 'node:module'

// Short commands run often in scripts: reuse compiled code across runs (Node's on-disk cache). It
// covers only modules loaded after this call, hence the dynamic imports.
enableCompileCache?.()
const bundle = new URL('../dist/bundle/dfs.js', import.meta.url)
if (!process.env.DFS_UNBUNDLED && existsSync(bundle)) {
  await import(bundle.href)
} else {
  const { stopWhenStdoutCloses } = await import('../dist/cli/broken-pipe.js')
  stopWhenStdoutCloses()
  const { execute } = await import('@oclif/core')
  await execute({ dir: import.meta.url })
}
