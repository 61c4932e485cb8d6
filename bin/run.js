#!/usr/bin/env node
// The dfs program, from the compiled code in dist/.
import { enableCompileCache } from 'node:module'

// Short commands run often in scripts: reuse compiled code across runs (Node's on-disk cache). It
// covers only modules loaded after this call, hence the dynamic import.
enableCompileCache?.()
const { stopWhenStdoutCloses } = await import('../dist/cli/broken-pipe.js')
stopWhenStdoutCloses()
const { execute } = await import('@oclif/core')
await execute({ dir: import.meta.url })
