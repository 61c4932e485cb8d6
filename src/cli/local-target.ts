// Where `dfs get NAME LOCAL` writes: LOCAL itself, or, as cp does, NAME's last part inside LOCAL when
// LOCAL is a directory (one that exists, or any path written with a trailing slash).

import { stat } from 'node:fs/promises'
import { basename, join, sep } from 'node:path'

export async function localTarget(local: string | undefined, name: string): Promise<string> {
  if (local === undefined) return basename(name)
  if (local.endsWith('/') || local.endsWith(sep) || (await isDirectory(local)))
    return join(local, basename(name))
  return local
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  )
}
