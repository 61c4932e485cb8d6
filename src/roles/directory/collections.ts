// What a WebDAV gateway needs of the namespace beyond files: empty folders that persist until they
// are removed (MKCOL), and dead properties per name or folder (PROPPATCH), each checked against the
// acting user's permissions. A folder is a prefix ending in '/'; making or removing one needs what
// a name made in it would need: write permission on the prefix rule that covers it, if any.

import { DfsError } from '../../protocol/errors.ts'
import { check, type Actor } from '../../protocol/permissions.ts'
import type { DeadProps, PropsChange } from '../../protocol/types.ts'
import type { MetadataStore } from '../../metadata/store.ts'
import type { NamespaceAccess } from './access.ts'

export class Collections {
  private readonly store: MetadataStore
  private readonly access: NamespaceAccess

  constructor(store: MetadataStore, access: NamespaceAccess) {
    this.store = store
    this.access = access
  }

  async makeFolder(actor: Actor, prefix: string): Promise<{ prefix: string; created: boolean }> {
    await this.mayWriteIn(actor, folder(prefix))
    return { prefix, created: await this.store.makeFolder(prefix) }
  }

  async removeFolder(actor: Actor, prefix: string): Promise<{ removed: boolean }> {
    await this.mayWriteIn(actor, folder(prefix))
    return { removed: await this.store.removeFolder(prefix) }
  }

  /** Whether a marker is there (names below a prefix do not make one). */
  async folderExists(prefix: string): Promise<{ exists: boolean }> {
    return { exists: await this.store.folderExists(folder(prefix)) }
  }

  /** A name's dead properties (read permission on a file; a folder's are anyone's to read). */
  async props(actor: Actor, name: string): Promise<DeadProps> {
    if (!name.endsWith('/')) await this.access.require(actor, name, 'read')
    return { name, props: await this.store.getProps(name) }
  }

  async setProps(actor: Actor, change: PropsChange): Promise<DeadProps> {
    const { name, set = {}, remove = [] } = change
    if (name.endsWith('/')) await this.mayWriteIn(actor, name)
    else await this.access.require(actor, name, 'write')
    return { name, props: await this.store.changeProps(name, set, remove) }
  }

  /** A name made below `prefix` would be allowed: write permission on the rule covering it, if any. */
  private async mayWriteIn(actor: Actor, prefix: string): Promise<void> {
    const rule = await this.store.prefixRule(prefix)
    if (rule) check(actor, rule, 'write', `names below ${rule.prefix}`)
  }
}

/** A folder is a non-empty prefix ending in '/' (as normalisePrefix gives it). */
function folder(prefix: string): string {
  if (prefix === '' || !prefix.endsWith('/'))
    throw new DfsError('DFS_BAD_NAME', `a folder is a prefix ending in '/', not ${JSON.stringify(prefix)}`)
  return prefix
}
