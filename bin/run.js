#!/usr/bin/env node
// The dfs program: the bundle in dist/bundle/ (made by npm run build, so by npm ci and npm pack too),
// else, or with DFS_UNBUNDLED=1, the compiled modules in dist/ through oclif.
//
// No top-level await: if the event loop empties while a command still waits (for a 'drain' from a
// reader that went away, say), Node would end the program with "Detected unsettled top-level
// await" and status 13. Without it the program simply ends.
import { existsSync } from 'node:fs'
import nodeModule from 'node:module'
import { exitIfNodeTooOld } from './check-node.js'

exitIfNodeTooOld()
// Short commands run often in scripts: reuse compiled code across runs (Node's on-disk cache). It
// covers only modules loaded after this call, hence the dynamic imports.
nodeModule.enableCompileCache?.()
const bundle = new URL('../dist/bundle/dfs.js', import.meta.url)
if (!process.env.DFS_UNBUNDLED && existsSync(bundle)) {
  void import(bundle.href)
} else {
  void import('../dist/cli/broken-pipe.js')
    .then(({ stopWhenStdoutCloses }) => {
      stopWhenStdoutCloses()
      return import('@oclif/core')
    })
    .then(({ execute }) => execute({ dir: import.meta.url }))
}
