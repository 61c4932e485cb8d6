// JSON schemas shared by more than one role's routes.

/** `?name=` on routes about one file; the name itself is checked by normaliseName. */
export const nameQuery = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', maxLength: 4096 } },
} as const

export const loginBody = {
  type: 'object',
  required: ['user', 'password'],
  additionalProperties: false,
  properties: {
    user: { type: 'string', maxLength: 64 },
    password: { type: 'string', maxLength: 1024 },
  },
} as const
