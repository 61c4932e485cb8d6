// The dashboard's files (static/ beside this module), by file name. Run from source they are read
// from disk; the bundles replace this module with one holding the same map as strings
// (scripts/embed-ui.ts calls this very function at build time), so the npm install and the
// standalone binary carry the dashboard inside their JavaScript and need no files next to it.

import { readdirSync, readFileSync } from 'node:fs'

export const UI_STATIC_DIR = new URL('./static/', import.meta.url)

/** Every file of the dashboard, name to text, in name order. */
export function uiFiles(): ReadonlyMap<string, string> {
  const names = readdirSync(UI_STATIC_DIR).sort()
  return new Map(names.map((name) => [name, readFileSync(new URL(name, UI_STATIC_DIR), 'utf8')]))
}
