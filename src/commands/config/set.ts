import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.ts'
import { forgottenWith, parseSetting, SETTABLE_KEYS, settingKey } from '../../cli/setting-keys.ts'
import { openSettings } from '../../cli/settings.ts'

export default class ConfigSet extends BaseCommand {
  static override summary = 'Save the proxy user commands use, or the user dfs login logs in as'
  static override description = [
    'proxy: an https:// URL, used when neither --proxy nor $DFS_PROXY is given.',
    'user: the name dfs login uses by default; naming another user than the saved one forgets the saved session, which was theirs.',
  ].join('\n')

  static override examples = [
    '<%= config.bin %> config set proxy https://proxy.example:5000',
    '<%= config.bin %> config set user alice',
  ]

  static override args = {
    key: Args.string({ description: `the setting: ${SETTABLE_KEYS.join(', ')}`, required: true }),
    value: Args.string({ description: 'its new value', required: true }),
  }

  async run(): Promise<{ key: string; value: string; forgotten: string[] }> {
    const { args } = await this.parse(ConfigSet)
    const key = settingKey(args.key)
    const value = parseSetting(key, args.value)
    const settings = openSettings()
    const forgotten = settings.get(key) === value ? [] : forgottenWith(key).filter((k) => settings.has(k))
    for (const stale of forgotten) settings.delete(stale)
    settings.set(key, value)
    if (!this.jsonEnabled()) {
      this.log(`${key}: ${value}`)
      for (const stale of forgotten) this.log(`forgot the saved ${stale} (it went with the old ${key})`)
    }
    return { key, value, forgotten }
  }
}
