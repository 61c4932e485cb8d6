// What the CLI remembers between runs (conf): the proxy last logged in to, the session token and the
// cluster CA it trusts. Kept in the user's config directory, mode 0600. Commands that only read it
// use ./saved-settings.ts, which reads the same file without loading conf.

import Conf from 'conf'
import { settingsDir, type Settings } from './saved-settings.ts'

export type { Settings } from './saved-settings.ts'

export function openSettings(): Conf<Settings> {
  return new Conf<Settings>({
    projectName: 'dfs',
    projectSuffix: '',
    cwd: settingsDir(),
    configFileMode: 0o600,
  })
}
