// oclif's parse errors as one readable line: "missing argument NAME" rather than its multi-line text
// ("Missing 1 required arg:\nname  name in dfs\nSee more help with --help"). Recognised by their
// message, as oclif exports none of its parse error classes.

/** The parts of an oclif parse error read here. */
interface ParseError {
  message: string
  args?: unknown
}

export function usageMessage(error: ParseError): string {
  const lines = plainLines(error.message).filter((line) => line !== 'See more help with --help')
  const first = lines[0] ?? 'bad usage'
  if (first.startsWith('Missing ') && first.includes(' required arg')) return missingArgs(error, lines)
  const flags = /^Nonexistent flags?: (.*)$/.exec(first)
  if (flags?.[1]) return `unknown ${plural('flag', flags[1])}: ${flags[1]}`
  const extra = /^Unexpected arguments?: (.*)$/.exec(first)
  if (extra?.[1]) return `unexpected ${plural('argument', extra[1])}: ${extra[1]}`
  // "The following errors occurred:" then one reason a line.
  if (/^The following errors? occurred:?$/.test(first)) return lines.slice(1).map(reason).join('; ')
  const parsing = /^Parsing (--\S+) (.*)$/.exec(lines.join(' '))
  if (parsing?.[1]) return `${parsing[1]}: ${lowerFirst(parsing[2] ?? '')}`
  return lowerFirst(lines.join(' '))
}

function missingArgs(error: ParseError, lines: string[]): string {
  const named = Array.isArray(error.args)
    ? error.args.flatMap((a: { name?: unknown }) =>
        typeof a?.name === 'string' ? [a.name.toUpperCase()] : [],
      )
    : []
  if (named.length === 0) return lowerFirst(lines[0] ?? 'missing arguments')
  return `missing ${named.length === 1 ? 'argument' : 'arguments'} ${named.join(' ')}`
}

function reason(line: string): string {
  const flag = /^Missing required flag (\S+)$/.exec(line)
  return flag?.[1] ? `missing flag --${flag[1]}` : lowerFirst(line)
}

function plural(word: string, list: string): string {
  return list.includes(',') ? `${word}s` : word
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}

/** Lines without ANSI colour (oclif dims its reasons), trimmed, empty ones dropped. */
export function plainLines(message: string): string[] {
  // eslint-disable-next-line no-control-regex
  const plain = message.replace(/\u001b\[[0-9;]*m/g, '')
  return plain
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
}
