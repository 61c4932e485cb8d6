// An --import hook (see ./loaded-modules.ts): records the URL of every module the process loads, and
// writes them, one a line, to $DFS_TEST_MODULES when it exits.

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
  if (file) writeFileSync(file, `${urls.join('\n')}\n`)
})
