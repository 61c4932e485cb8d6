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

export function closeOnSignals(running: Running): Promise<void> {
  return new Promise((resolve) => {
    let closing = false
    const stop = () => {
      if (closing) return
      closing = true
      running.close().then(resolve, () => resolve())
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
