// Reading what the CLI saved between runs (src/cli/settings.ts writes it, through conf): the file
// itself, parsed as conf parses it. A user command only reads it, and conf with its schema validator
// costs more start-up time than the rest of a small `dfs put`.

import envPaths from 'env-paths'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'

export interface Settings {
  proxy?: string
  user?: string
  token?: string
  ca?: string
}

/** Where the settings live: $DFS_CONFIG_DIR, else the platform's config directory for dfs. */
export function settingsDir(): string {
  return process.env.DFS_CONFIG_DIR || envPaths('dfs', { suffix: '' }).config
}

/** The saved settings; none when nothing was saved. A file conf could not read either fails the same way. */
export async function readSettings(): Promise<Settings> {
  let text: string
  try {
    text = await readFile(resolve(settingsDir(), 'config.json'), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw error
  }
  const saved: unknown = JSON.parse(text)
  if (typeof saved === 'object' && saved !== null && !Array.isArray(saved)) return saved as Settings
  // Not a store conf writes: let conf say what it makes of it.
  const { openSettings } = await import('./settings.ts')
  return openSettings().store
}
