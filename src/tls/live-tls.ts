// A node's TLS identity while it runs: renewed in place, so the server presents the new certificate
// to new connections and the client side connects with it, without a restart.

import type { TlsMaterial } from './ca-files.ts'

export class LiveTls {
  private material: TlsMaterial
  private readonly listeners = new Set<(material: TlsMaterial) => void>()

  constructor(material: TlsMaterial) {
    this.material = material
  }

  get current(): TlsMaterial {
    return this.material
  }

  update(material: TlsMaterial): void {
    this.material = material
    for (const listener of this.listeners) listener(material)
  }

  onChange(listener: (material: TlsMaterial) => void): void {
    this.listeners.add(listener)
  }
}

/** What a TLS server presents: its certificate with the CA in the chain (see tls/discovery.ts). */
export function serverIdentity(material: TlsMaterial): { key: string; cert: string; ca: string } {
  return { key: material.key, cert: `${material.cert.trimEnd()}\n${material.ca}`, ca: material.ca }
}
