// The build's first step (package.json "build"): on a Node too old for dfs, one clear line and
// status 1, before tsc or oclif fail on syntax they cannot parse. Plain JavaScript, as Node 14 reads.
import { exitIfNodeTooOld } from '../bin/check-node.js'

exitIfNodeTooOld()
