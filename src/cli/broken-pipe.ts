// What dfs does when the reader of its standard output goes away (`dfs ls | head -1`): it stops at
// once, silently, with the status of a program killed by SIGPIPE (128 + 13), as C programs do.
//
// Node ignores SIGPIPE, so without this a write fails with EPIPE instead, and oclif (or `dfs ls`)
// then waits for a 'drain' that never comes: the event loop empties and Node ends the program with
// "Detected unsettled top-level await" and status 13.

/** The shell's status for a program stopped by SIGPIPE. */
export const BROKEN_PIPE_STATUS = 141

export function stopWhenStdoutCloses(stdout: NodeJS.WriteStream = process.stdout): void {
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    // Any other failure to write (a full disk under a redirect) is an error, as if unhandled.
    if (error.code !== 'EPIPE') throw error
    process.exit(BROKEN_PIPE_STATUS)
  })
}
