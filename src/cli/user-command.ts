// The base of commands that talk to a proxy: adds --proxy and --data and opens the connection.

import { Flags } from '@oclif/core'
import type { ProxyClient } from '../client/proxy-client.ts'
import { BaseCommand } from './base-command.ts'
import type { CommandContext } from './command-context.ts'
import { connect } from './connection.ts'

export abstract class UserCommand extends BaseCommand {
  static override baseFlags = {
    ...BaseCommand.baseFlags,
    proxy: Flags.string({
      description: 'proxy URL (default: $DFS_PROXY, then the saved login)',
      helpGroup: 'GLOBAL',
    }),
    data: Flags.string({ description: 'local data root, to find the cluster CA', helpGroup: 'GLOBAL' }),
  }

  private client?: ProxyClient

  protected async proxy(flags: { proxy?: string; data?: string }): Promise<ProxyClient> {
    this.client = await connect(flags)
    return this.client
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    await this.client?.close()
    return super.finally(error)
  }

  /** What the command's work, shared with the quick path (src/cli/quick-run.ts), needs of it. */
  protected context(): CommandContext {
    return {
      json: this.jsonEnabled(),
      say: (line) => this.say(line),
      proxy: (options) => this.proxy(options),
    }
  }

  /** Human output: only when --json is off. */
  protected say(line: string): void {
    if (!this.jsonEnabled()) this.log(line)
  }
}
