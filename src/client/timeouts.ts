// How long a JSON call waits for its answer unless it says otherwise, whichever HTTP client makes it
// (ky, or the nodes' agent); a module of its own so that the CLI's quick commands load no client
// they do not use.

export const JSON_TIMEOUT_MS = 30_000
