// Gives a role its TLS material: the cluster CA (waited for if the directory has not made it yet)
// and a fresh certificate for this node signed by it.

import { ensureCa, issueNodeCert, waitForCa, type TlsMaterial } from './ca.ts'

export interface NodeTlsOptions {
  root: string
  commonName: string
  hosts?: string[]
  /** The directory creates the CA; every other role waits for it to appear. */
  createCa?: boolean
  /** Told once if this role has to wait for the directory to create the CA. */
  onWaiting?: (dir: string) => void
}

export async function nodeTls(options: NodeTlsOptions): Promise<TlsMaterial> {
  const ca = options.createCa
    ? await ensureCa(options.root)
    : await waitForCa(options.root, { onWaiting: options.onWaiting })
  const own = issueNodeCert(ca, options.commonName, options.hosts)
  return { cert: own.cert, key: own.key, ca: ca.cert }
}

/** TLS for a role that joins a cluster (file server, proxy): waits for the CA, saying so once. */
export function memberTls(root: string, commonName: string, hosts: string[]): Promise<TlsMaterial> {
  return nodeTls({
    root,
    commonName,
    hosts,
    onWaiting: (dir) =>
      process.stderr.write(
        `waiting for the cluster CA in ${dir} (start dfs directory with the same --data)\n`,
      ),
  })
}
