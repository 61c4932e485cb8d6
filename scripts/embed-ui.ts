// An esbuild plugin for every dfs bundle: replaces src/roles/proxy/ui/assets.ts with a module that
// holds the dashboard's files as strings, read now by that module's own uiFiles(), so what a bundle
// serves is exactly what the sources serve, and no bundle reads static files at run time.

import type { Plugin } from 'esbuild'
import { uiFiles } from '../src/roles/proxy/ui/assets.ts'

const ASSETS_MODULE = /[\\/]src[\\/]roles[\\/]proxy[\\/]ui[\\/]assets\.ts$/

export function embedUi(): Plugin {
  return {
    name: 'dfs-embed-ui',
    setup(b) {
      b.onLoad({ filter: ASSETS_MODULE }, () => ({
        contents: [
          `const FILES = ${JSON.stringify([...uiFiles()])}`,
          'export function uiFiles() { return new Map(FILES) }',
        ].join('\n'),
        loader: 'js',
      }))
    },
  }
}
