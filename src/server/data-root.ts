// Where a role keeps its data: --data DIR, else $DFS_DATA, else the platform convention
// ($XDG_DATA_HOME/dfs, ~/.local/share/dfs). Roles on one machine may share a root (that is how they
// find the directory's local join token); on other hosts each has its own.

import { chmodSync, mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export function dataRoot(flag?: string): string {
  if (flag) return resolve(flag)
  if (process.env.DFS_DATA) return resolve(process.env.DFS_DATA)
  const xdg = process.env.XDG_DATA_HOME
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share'), 'dfs')
}

export const DEFAULT_DIRECTORY_URL = 'https://127.0.0.1:5050'

/**
 * Makes a role's data root private before anything is written to it: the root 0700 (also one made
 * by an older dfs), and every file and directory the process creates from now on 0600/0700 (the
 * metadata database with its password hashes, blobs, caches, keys), whatever the user's umask.
 */
export function privateDataRoot(root: string): string {
  process.umask(0o077)
  mkdirSync(root, { recursive: true, mode: 0o700 })
  chmodSync(root, 0o700)
  return root
}
