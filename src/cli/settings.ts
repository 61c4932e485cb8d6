// What the CLI remembers between runs (conf): the proxy last logged in to, the session token and the
// cluster CA it trusts. Kept in the user's config directory, mode 0600.

import Conf from 'conf'

export interface Settings {
  proxy?: string
  user?: string
  token?: string
  ca?: string
}

export function openSettings(): Conf<Settings> {
  return new Conf<Settings>({
    projectName: 'dfs',
    projectSuffix: '',
    cwd: process.env.DFS_CONFIG_DIR || undefined,
    configFileMode: 0o600,
  })
}
