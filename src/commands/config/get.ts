import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.ts'
import { revealSetting, settingKey, SETTING_KEYS } from '../../cli/setting-keys.ts'
import { openSettings } from '../../cli/settings.ts'
import { DfsError } from '../../protocol/errors.ts'

export default class ConfigGet extends BaseCommand {
  static override summary = 'Print a saved setting, the bare value (for scripts)'
  static override description =
    'Exits 1 with DFS_NOT_FOUND when the setting is not saved. The session token is never printed; the CA prints as PEM.'

  static override examples = [
    '<%= config.bin %> config get proxy',
    '<%= config.bin %> config get ca > cluster-ca.crt',
    '<%= config.bin %> config get user --json',
  ]

  static override args = {
    key: Args.string({ description: `the setting: ${SETTING_KEYS.join(', ')}`, required: true }),
  }

  async run(): Promise<Record<string, string>> {
    const { args } = await this.parse(ConfigGet)
    const key = settingKey(args.key)
    const value = openSettings().get(key)
    if (value === undefined) throw new DfsError('DFS_NOT_FOUND', `${key} is not set`)
    const shown = revealSetting(key, value)
    if (!this.jsonEnabled()) this.log(shown.replace(/\n$/, ''))
    return { [key]: shown }
  }
}
