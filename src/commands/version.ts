// `dfs version`: the line `dfs --version` prints, for those who type it as a command.

import { BaseCommand } from '../cli/base-command.ts'

interface VersionInfo {
  version: string
  node: string
  platform: string
  arch: string
}

export default class Version extends BaseCommand {
  static override summary = 'Show the version of dfs (also dfs --version, dfs -v)'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']

  async run(): Promise<VersionInfo> {
    await this.parse(Version)
    if (!this.jsonEnabled()) this.log(this.config.userAgent)
    return {
      version: this.config.version,
      node: process.version,
      platform: this.config.platform,
      arch: this.config.arch,
    }
  }
}
