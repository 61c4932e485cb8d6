// An --import hook (see ./loaded-modules.ts): records the URL of every module the process loads, and
// writes them, one a line, to $DFS_TEST_MODULES when it exits, followed by Node's own internal modules
// (process.moduleLoadList, as `node:internal/...`). A `%p` in the file name is the process id, so
// that several processes (a cluster's roles) each write their own.

import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const urls: string[] = []
registerHooks({
  load(url, context, nextLoad) {
    urls.push(url)
    return nextLoad(url, context)
  },
})
process.on('exit', () => {
  const file = process.env.DFS_TEST_MODULES
  const internal = (process as NodeJS.Process & { moduleLoadList: string[] }).moduleLoadList
    .filter((entry) => entry.startsWith('NativeModule '))
    .map((entry) => `node:${entry.slice('NativeModule '.length)}`)
  if (file) writeFileSync(file.replace('%p', String(process.pid)), `${[...urls, ...internal].join('\n')}\n`)
})
