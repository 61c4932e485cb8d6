// The half of a bundle's entry that loads oclif (scripts/bundle.ts): oclif started on the package.json
// section the bundle carries, so it reads no package.json and never looks for TypeScript sources.

import type { Interfaces } from '@oclif/core'
// oclif's parts, not its index: the index loads every part (parser, flags, help, ux) up front.
import { execute } from '@oclif/core/execute'
import { settings } from '@oclif/core/settings'

export async function runOclif(root: string, pjson: Interfaces.PJSON): Promise<void> {
  // The bundle holds no TypeScript (oclif would look for it with NODE_ENV=development or test).
  settings.enableAutoTranspile = false
  await execute({ loadOptions: { root, pjson } })
}
