import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.ts'
import { forgottenWith, settingKey, SETTING_KEYS } from '../../cli/setting-keys.ts'
import { openSettings } from '../../cli/settings.ts'

export default class ConfigUnset extends BaseCommand {
  static override summary = 'Forget a saved setting (token: the session, here only; dfs logout ends it)'
  static override description =
    'Unsetting what is not saved is no error. Unsetting user forgets the saved session too.'

  static override examples = [
    '<%= config.bin %> config unset proxy',
    '<%= config.bin %> config unset ca   # before dfs login to a rebuilt cluster',
  ]

  static override args = {
    key: Args.string({ description: `the setting: ${SETTING_KEYS.join(', ')}`, required: true }),
  }

  async run(): Promise<{ forgotten: string[] }> {
    const { args } = await this.parse(ConfigUnset)
    const key = settingKey(args.key)
    const settings = openSettings()
    const forgotten = [key, ...forgottenWith(key)].filter((k) => settings.has(k))
    for (const k of forgotten) settings.delete(k)
    if (!this.jsonEnabled())
      this.log(forgotten.length > 0 ? `forgot ${forgotten.join(', ')}` : `${key} was not set`)
    return { forgotten }
  }
}
