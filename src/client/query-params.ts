// Query strings from optional parameters.

/** Query parameters without the ones left undefined (an audit query's optional filters). */
export function definedOnly(query: object): Record<string, string | number> {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined)) as Record<
    string,
    string | number
  >
}
