// Running a role as a process: announce where it listens (one line that `dfs up` and tests wait
// for), and close cleanly on SIGINT/SIGTERM.

export interface Running {
  url: string
  close(): Promise<void>
}

/** The line printed once a role is serving; parsed by `dfs up` and the tests. */
export function listeningLine(role: string, id: number | undefined, url: string, data: string): string {
  return `dfs ${role}${id === undefined ? '' : ` ${id}`} listening on ${url} (data ${data})`
}

export const LISTENING = /listening on (https:\/\/\S+)/

/** Where a role says what it is doing outside requests, in the format of its request log. */
export interface RoleLog {
  info(message: string): void
  error(obj: object, message: string): void
}

/**
 * Says where a role listens (and anything else an operator needs at start), as log records at the
 * level given to the role (--log-level, DFS_LOG), in the role's one format (log-format.ts; loaded
 * only here, so user commands never load the logger).
 */
export async function announce(
  role: string,
  id: number | undefined,
  level: string | undefined,
  lines: string[],
): Promise<RoleLog> {
  const { roleLogger } = await import('./log-format.ts')
  const log = roleLogger(role, id, level)
  for (const line of lines) log.info(line)
  return log
}

export function closeOnSignals(running: Running, log?: RoleLog): Promise<void> {
  return new Promise((resolve) => {
    let closing = false
    const stop = (signal: NodeJS.Signals) => {
      if (closing) return
      closing = true
      log?.info(`stopping (${signal})`)
      running.close().then(
        () => {
          log?.info('stopped')
          resolve()
        },
        (error: unknown) => {
          log?.error({ err: error }, 'stopping failed')
          resolve()
        },
      )
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
