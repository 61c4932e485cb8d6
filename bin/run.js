#!/usr/bin/env node
// The dfs program, from the compiled code in dist/.
import { execute } from '@oclif/core'

await execute({ dir: import.meta.url })
