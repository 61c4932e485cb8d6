// What a command's work needs from whoever runs it, oclif (UserCommand) or the quick path
// (./quick-run.ts): whether --json is on, where a human line goes, and the proxy's client.

import type { ProxyClient } from '../client/proxy-client.ts'
import type { ConnectOptions } from './connection.ts'

export interface CommandContext {
  /** --json is on: the result is printed as JSON, and human lines are not. */
  readonly json: boolean
  /** A line for a person, on stdout; nothing with --json. */
  say(line: string): void
  /** A client of the proxy with a live session, closed when the command ends. */
  proxy(options: ConnectOptions): Promise<ProxyClient>
}
