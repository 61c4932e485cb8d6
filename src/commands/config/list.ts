import { BaseCommand } from '../../cli/base-command.ts'
import { SETTING_KEYS, showSetting } from '../../cli/setting-keys.ts'
import { openSettings } from '../../cli/settings.ts'

export default class ConfigList extends BaseCommand {
  static override summary =
    'Show the saved settings (the session token as (saved), the CA by its fingerprint)'
  static override description =
    'They live in config.json in the user config directory (~/.config/dfs on Linux), or in $DFS_CONFIG_DIR when it is set.'

  static override examples = ['<%= config.bin %> config list', '<%= config.bin %> config list --json']

  async run(): Promise<Record<string, string>> {
    await this.parse(ConfigList)
    const settings = openSettings()
    const shown: Record<string, string> = {}
    for (const key of SETTING_KEYS) {
      const value = settings.get(key)
      if (value !== undefined) shown[key] = showSetting(key, value)
    }
    if (!this.jsonEnabled()) {
      for (const [key, value] of Object.entries(shown)) this.log(`${key}: ${value}`)
      if (Object.keys(shown).length === 0) this.logToStderr(`nothing saved in ${settings.path}`)
    }
    return shown
  }
}
