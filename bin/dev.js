#!/usr/bin/env node
// The dfs program straight from src/ (Node's type stripping), for development without a build.
// Started without a top-level await, as bin/run.js explains.
import { execute } from '@oclif/core'
import { stopWhenStdoutCloses } from '../src/cli/broken-pipe.ts'

stopWhenStdoutCloses()
void execute({ development: true, dir: import.meta.url })
