// Who may do what with a name, checked by the directory on every operation. A name has an owner (its
// creator), a group and mode bits; a prefix may carry a rule (`dfs chmod -R 700 home/alice/`) that
// says who may make names below it and which group and mode they get; without one, new names get the
// directory's --default-mode and group `users`. A removed name keeps its owner and mode while its
// history is kept, so nobody else can make it again and restore what they could not read.

import { DfsError } from '../../protocol/errors.ts'
import {
  EVERYONE,
  allowed,
  check,
  parseMode,
  type Access,
  type Actor,
  type Perms,
} from '../../protocol/permissions.ts'
import type { FileVersion, PrefixRuleView } from '../../protocol/types.ts'
import type { MetadataStore } from '../../metadata/store.ts'
import type { Accounts } from './accounts.ts'

export class NamespaceAccess {
  private readonly store: MetadataStore
  private readonly accounts: Accounts
  readonly defaultMode: number
  /** Called (and waited for) after who may read what changed: proxies forget what they trusted. */
  private readonly whoMayRead: () => Promise<void>

  constructor(deps: {
    store: MetadataStore
    accounts: Accounts
    defaultMode: number
    whoMayRead?: () => Promise<void>
  }) {
    this.store = deps.store
    this.accounts = deps.accounts
    this.defaultMode = deps.defaultMode
    this.whoMayRead = deps.whoMayRead ?? (async () => undefined)
  }

  /** Gives names from before permissions to their last writer. */
  migrate(): Promise<number> {
    return this.store.claimUnowned(EVERYONE, this.defaultMode)
  }

  /** The name's owner, group and mode if it is known (current, or removed with history kept). */
  perms(name: string): Promise<Perms | undefined> {
    return this.store.getPerms(name)
  }

  /** Refuses unless `actor` may read or write `name`; a name never seen passes (it is not found later). */
  async require(actor: Actor, name: string, access: Access): Promise<void> {
    const perms = await this.store.getPerms(name)
    if (perms) check(actor, perms, access, name)
  }

  /**
   * A write of `name`: an existing (or removed) name needs write permission on it; a new one needs
   * write permission on the rule of its prefix, if there is one. Returns the owner, group and mode
   * a new name gets.
   */
  async forWrite(actor: Actor, name: string): Promise<Perms> {
    const existing = await this.store.getPerms(name)
    if (existing) {
      check(actor, existing, 'write', name)
      return existing
    }
    const rule = await this.store.prefixRule(name)
    if (rule) check(actor, rule, 'write', `names below ${rule.prefix}`)
    return { owner: actor.user, group: rule?.group ?? EVERYONE, mode: rule?.mode ?? this.defaultMode }
  }

  /** The names of `files` that `actor` may read. */
  readable(actor: Actor, files: FileVersion[]): FileVersion[] {
    return files.filter((f) => allowed(actor, this.permsOf(f), 'read'))
  }

  /** A name's owner, group and mode as a listing or event shows them (defaults for unowned names). */
  permsOf(file: FileVersion): Perms {
    return {
      owner: file.owner ?? file.writer,
      group: file.group ?? EVERYONE,
      mode: file.mode ?? this.defaultMode,
    }
  }

  /** `dfs chmod MODE NAME`: the owner or an admin. */
  async chmod(actor: Actor, name: string, modeText: string): Promise<Perms & { name: string }> {
    const perms = await this.known(name)
    if (!actor.admin && actor.user !== perms.owner)
      throw new DfsError(
        'DFS_FORBIDDEN',
        `${actor.user} may not chmod ${name}: only its owner (${perms.owner}) or an admin`,
      )
    const changed = { ...perms, mode: parseMode(modeText, perms.mode) }
    await this.store.setPerms(name, changed)
    await this.whoMayRead()
    return { name, ...changed }
  }

  /**
   * `dfs chown USER[:GROUP] NAME`: giving a name to another user is for admins; its owner may change
   * its group to one they are in.
   */
  async chown(
    actor: Actor,
    name: string,
    change: { owner?: string; group?: string },
  ): Promise<Perms & { name: string }> {
    const perms = await this.known(name)
    const changed = await this.changedOwnership(actor, perms, change, name)
    await this.store.setPerms(name, changed)
    await this.whoMayRead()
    return { name, ...changed }
  }

  /**
   * `dfs chmod -R MODE PREFIX/` (and chown -R): sets the prefix's rule for names made below it, and
   * changes the names already there. Taking a prefix nobody has a rule on needs write permission on
   * the enclosing rule and owning every name already below it (nobody takes over others' names).
   */
  async setRule(
    actor: Actor,
    prefix: string,
    change: { mode?: string; owner?: string; group?: string },
  ): Promise<PrefixRuleView & { changed: number }> {
    const enclosing = await this.store.prefixRule(prefix)
    const own = enclosing?.prefix === prefix ? enclosing : undefined
    const below = await this.namesBelow(prefix)
    if (!actor.admin) {
      if (own && own.owner !== actor.user)
        throw new DfsError(
          'DFS_FORBIDDEN',
          `${actor.user} may not change the rule of ${prefix}: it belongs to ${own.owner}`,
        )
      if (!own) {
        if (enclosing) check(actor, enclosing, 'write', `names below ${enclosing.prefix}`)
        const other = below.find((f) => this.permsOf(f).owner !== actor.user)
        if (other)
          throw new DfsError(
            'DFS_FORBIDDEN',
            `${actor.user} may not set a rule on ${prefix}: ${other.name} belongs to ${this.permsOf(other).owner}`,
          )
      }
    }
    const base: Perms = own ?? {
      owner: actor.user,
      group: enclosing?.group ?? EVERYONE,
      mode: enclosing?.mode ?? this.defaultMode,
    }
    const ownership = await this.changedOwnership(actor, base, change, prefix)
    const rule = {
      prefix,
      ...ownership,
      mode: change.mode === undefined ? base.mode : parseMode(change.mode, base.mode),
    }
    await this.store.setPrefixRule(rule)
    let changed = 0
    for (const file of below) {
      const perms = this.permsOf(file)
      if (!actor.admin && perms.owner !== actor.user) continue
      await this.store.setPerms(file.name, {
        owner: change.owner ?? perms.owner,
        group: change.group ?? perms.group,
        mode: change.mode === undefined ? perms.mode : parseMode(change.mode, perms.mode),
      })
      changed++
    }
    await this.whoMayRead()
    return { ...rule, changed }
  }

  listRules(): Promise<PrefixRuleView[]> {
    return this.store.listPrefixRules()
  }

  private async changedOwnership(
    actor: Actor,
    perms: Perms,
    change: { owner?: string; group?: string },
    what: string,
  ): Promise<Perms> {
    const { owner, group } = change
    if (owner !== undefined && owner !== perms.owner) {
      if (!actor.admin) throw new DfsError('DFS_FORBIDDEN', `only an admin may give ${what} to another user`)
      if (!(await this.accounts.actorFor(owner)))
        throw new DfsError('DFS_NOT_FOUND', `no such user: ${owner}`)
    }
    if (group !== undefined && group !== perms.group) {
      if (!(await this.accounts.groupExists(group)))
        throw new DfsError('DFS_NOT_FOUND', `no such group: ${group}`)
      if (!actor.admin && (actor.user !== perms.owner || !actor.groups.includes(group)))
        throw new DfsError(
          'DFS_FORBIDDEN',
          `${actor.user} may not give ${what} to group ${group}: only its owner, if in that group, or an admin`,
        )
    }
    return { owner: owner ?? perms.owner, group: group ?? perms.group, mode: perms.mode }
  }

  private async known(name: string): Promise<Perms> {
    const perms = await this.store.getPerms(name)
    if (!perms) throw new DfsError('DFS_NOT_FOUND', `no such file: ${name}`)
    return perms
  }

  private async namesBelow(prefix: string): Promise<FileVersion[]> {
    const names: FileVersion[] = []
    let after: string | undefined
    for (;;) {
      const page = await this.store.listFiles(prefix, 1000, after)
      names.push(...page)
      if (page.length < 1000) return names
      after = page.at(-1)?.name
    }
  }
}
