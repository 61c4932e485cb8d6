#!/usr/bin/env node
// The dfs program straight from src/ (Node's type stripping), for development without a build.
import { execute } from '@oclif/core'
import { stopWhenStdoutCloses } from '../src/cli/broken-pipe.ts'

stopWhenStdoutCloses()
await execute({ development: true, dir: import.meta.url })
