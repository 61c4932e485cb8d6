#!/usr/bin/env node
// The dfs program straight from src/ (Node's type stripping), for development without a build.
import { execute } from '@oclif/core'

await execute({ development: true, dir: import.meta.url })
