// The quick path: `dfs put`, `dfs get`, `dfs write` and `dfs lock` run without oclif, for the command
// lines ./quick-command.ts accepts. The work is the commands' own (./put-file.ts, ./get-file.ts,
// ./write-file.ts, ./run-locked.ts), and so are the output, the errors and the exit status: human
// lines and JSON printed as oclif's log and logJson print them (no JSON theme: quickCommand leaves
// JSON on a terminal to oclif), failures by ./error-report.ts.

import type { ProxyClient } from '../client/proxy-client.ts'
import type { CommandContext } from './command-context.ts'
import { connect } from './connection.ts'
import { parseDuration } from './duration-text.ts'
import { reportFailure } from './error-report.ts'
import { getFile } from './get-file.ts'
import { LEASE_TTL_MS, LEASE_WAIT_MS } from './lease.ts'
import { putFile } from './put-file.ts'
import type { QuickCommand } from './quick-command.ts'
import { runLocked } from './run-locked.ts'
import { writeFile } from './write-file.ts'

export async function runQuick(command: QuickCommand, bin: string): Promise<void> {
  const json = command.flags.json === true
  let client: ProxyClient | undefined
  const context: CommandContext = {
    json,
    say: (line) => {
      if (!json) console.log(line)
    },
    proxy: async (options) => (client = await connect(options)),
  }
  let result: object | undefined
  try {
    result = await work(command, context)
  } catch (error) {
    reportFailure(error as Error, {
      argv: command.argv,
      json,
      logJson: printJson,
      helpCommand: `${bin} ${command.id} --help`,
    })
  } finally {
    await client?.close()
  }
  if (result && json) printJson(result)
}

function work(command: QuickCommand, context: CommandContext): Promise<object> {
  const { args, flags } = command
  const option = (name: string) => (typeof flags[name] === 'string' ? flags[name] : undefined)
  const common = { quiet: flags.quiet === true, proxy: option('proxy'), data: option('data') }
  // put's and write's --wait and --ttl send a command line to oclif: their leases have the defaults.
  const lease = { wait: LEASE_WAIT_MS, ttl: LEASE_TTL_MS }
  switch (command.id) {
    case 'put': {
      const [local = '', name = ''] = args
      return putFile({ local, name, force: flags.force === true, ...lease, ...common }, context)
    }
    case 'get': {
      const [name = '', local] = args
      return getFile(
        { name, local, offline: flags.offline === true, range: option('range'), ...common },
        context,
      )
    }
    case 'lock': {
      const [name = ''] = args
      const wait = option('wait')
      const ttl = option('ttl')
      return runLocked(
        {
          name,
          command: command.command ?? [],
          wait: wait === undefined ? LEASE_WAIT_MS : parseDuration(wait),
          ttl: ttl === undefined ? LEASE_TTL_MS : parseDuration(ttl),
          proxy: common.proxy,
          data: common.data,
        },
        context,
      )
    }
    case 'write': {
      const [name = ''] = args
      return writeFile({ name, create: flags.create === true, ...lease, ...common }, context)
    }
  }
}

/** oclif's logJson without a theme: the document, indented by two, and a newline. */
function printJson(document: object): void {
  console.log(JSON.stringify(document, undefined, 2))
}
