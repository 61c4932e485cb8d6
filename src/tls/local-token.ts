// The directory's local join token: a file in its data root (0600), so that a role started on the
// directory's own host with the same --data joins without being given a token, as the seed's
// five-terminal layout and `dfs up` do. Whoever can read it could read the CA key beside it too.

import { join } from 'node:path'

export function localTokenPath(root: string): string {
  return join(root, 'directory', 'local-join-token')
}
