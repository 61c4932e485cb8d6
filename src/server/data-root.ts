// Where a role keeps its data: --data DIR, else $DFS_DATA, else the platform convention
// ($XDG_DATA_HOME/dfs, ~/.local/share/dfs). Every role on one machine shares the root, which is how
// they find the cluster CA.

import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export function dataRoot(flag?: string): string {
  if (flag) return resolve(flag)
  if (process.env.DFS_DATA) return resolve(process.env.DFS_DATA)
  const xdg = process.env.XDG_DATA_HOME
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share'), 'dfs')
}

export const DEFAULT_DIRECTORY_URL = 'https://127.0.0.1:5050'
