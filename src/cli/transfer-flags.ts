// The flags of every command that moves file bytes (put, get, write, edit).

import { Flags } from '@oclif/core'

export const transferFlags = {
  quiet: Flags.boolean({
    char: 'q',
    description: 'no progress bar (a terminal shows one for transfers of more than 1 MiB)',
    default: false,
  }),
}
