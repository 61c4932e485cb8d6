// The shell completion scripts `dfs autocomplete` prints. One core in plain sh, which bash and zsh
// both run: tables made from the command map (src/cli/completion-model.ts) and a walk over the words
// typed, ending in what to offer; then a few lines of glue per shell. dfs names come from the
// hidden `dfs __complete-names PREFIX`, which asks the proxy.

import type { ArgCompletion, CompletionModel } from './completion-model.ts'

export type Shell = 'bash' | 'zsh'

export const SHELLS: Shell[] = ['bash', 'zsh']

export function completionScript(shell: Shell, bin: string, model: CompletionModel): string {
  const glue = shell === 'bash' ? bashGlue(bin) : zshGlue(bin)
  return [header(shell, bin), tables(model), CORE, glue].join('\n')
}

function header(shell: Shell, bin: string): string {
  const install =
    shell === 'bash'
      ? `${bin} autocomplete bash >> ~/.bashrc, or for this shell only: source <(${bin} autocomplete bash)`
      : `${bin} autocomplete zsh > "\${fpath[1]}/_${bin}", then start a new shell`
  return `${shell === 'zsh' ? `#compdef ${bin}\n` : ''}# ${bin} completion for ${shell}, made by \`${bin} autocomplete ${shell}\`.\n# Install: ${install}\n`
}

/** Words go into the script single-quoted: a name in the command map cannot become shell code. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`
}

function caseFunction(name: string, subject: string, cases: [string, string][], otherwise?: string) {
  const lines = cases.map(([pattern, body]) => `    ${quote(pattern)}) ${body} ;;`)
  if (otherwise) lines.push(`    *) ${otherwise} ;;`)
  return `${name}() {\n  case ${subject} in\n${lines.join('\n')}\n  esac\n}\n`
}

const printLines = (words: string[]) => `printf '%s\\n' ${words.map(quote).join(' ')}`

function tables(model: CompletionModel): string {
  const commands = model.commands
  const kinds: [string, string][] = [
    ...[...model.children.keys()].map((topic): [string, string] => [topic, 'echo topic']),
    ...commands.filter((c) => !model.children.has(c.id)).map((c): [string, string] => [c.id, 'echo command']),
  ]
  const args = commands.flatMap((c) =>
    c.args.map((arg, position): [string, string] => [`${c.id}:${position}`, argLine(arg)]),
  )
  return [
    '# What a word is: topic (the top level is one), command, or nothing of dfs.',
    caseFunction('_dfs_kind', '$1', kinds),
    '# The words under a topic.',
    caseFunction(
      '_dfs_children',
      '$1',
      [...model.children].map(([t, words]) => [t, printLines(words)]),
    ),
    "# A command's flags, and those of them that take a value.",
    caseFunction(
      '_dfs_flags',
      '$1',
      commands.map((c) => [c.id, printLines(c.flags)]),
    ),
    caseFunction(
      '_dfs_valued',
      '$1',
      commands.map((c) => [c.id, `echo ${quote(c.valued.join(' '))}`]),
    ),
    '# What the argument at a position (from 0) of a command completes to.',
    caseFunction('_dfs_arg', '$1:$2', args, 'echo none'),
  ].join('\n')
}

function argLine(arg: ArgCompletion): string {
  return arg.kind === 'words' ? printLines(['words', ...arg.words]) : `echo ${arg.kind}`
}

// $@ is the words after dfs up to the one being completed (the last). Prints what to offer: a line
// saying what (words, names, files or none), then for words the words, one a line.
const CORE = `_dfs_candidates() {
  local id='' word position=0 value=0 glued=0
  while [ $# -gt 1 ]; do
    word=$1
    shift
    # bash splits --wait=5s into --wait, =, 5s, and alice:staff into alice, :, staff.
    case $word in
      =) value=1; continue ;;
      :) glued=1; continue ;;
    esac
    if [ "$value" = 1 ]; then value=0; continue; fi
    if [ "$(_dfs_kind "$id")" = topic ]; then
      case $(_dfs_kind "\${id:+$id:}$word") in
        topic | command) id=\${id:+$id:}$word; continue ;;
        *) echo none; return ;;
      esac
    fi
    case $word in
      # What follows is another program's command line (dfs lock NAME -- COMMAND).
      --) echo none; return ;;
      --*=*) ;;
      -*) case " $(_dfs_valued "$id") " in *" $word "*) value=1 ;; esac ;;
      *) if [ "$glued" = 1 ]; then glued=0; else position=$((position + 1)); fi ;;
    esac
  done
  # A flag's value (a duration, a URL, a path) or the part after a colon: nothing that would not mislead.
  if [ "$value" = 1 ] || [ "$glued" = 1 ]; then echo none; return; fi
  if [ "$(_dfs_kind "$id")" = topic ]; then echo words; _dfs_children "$id"; return; fi
  case $1 in
    -*) echo words; _dfs_flags "$id" ;;
    *) _dfs_arg "$id" "$position" ;;
  esac
}
`

function bashGlue(bin: string): string {
  return `_dfs_bash() {
  local IFS=$'\\n' cur=\${COMP_WORDS[COMP_CWORD]}
  local -a lines
  lines=($(_dfs_candidates "\${COMP_WORDS[@]:1:COMP_CWORD}"))
  COMPREPLY=()
  case \${lines[0]} in
    words) COMPREPLY=($(compgen -W "\${lines[*]:1}" -- "$cur")) ;;
    names)
      COMPREPLY=($(${quote(bin)} __complete-names -- "$cur" 2>/dev/null))
      # A folder is completed into, not past: no space after docs/.
      if [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == */ ]]; then compopt -o nospace 2>/dev/null; fi
      ;;
    files)
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
      ;;
  esac
}
complete -F _dfs_bash ${quote(bin)}
`
}

function zshGlue(bin: string): string {
  return `_dfs() {
  local -a lines names
  lines=("\${(@f)$(_dfs_candidates "\${(@)words[2,CURRENT]}")}")
  case $lines[1] in
    words) compadd -- "\${(@)lines[2,-1]}" ;;
    names)
      names=(\${(f)"$(${quote(bin)} __complete-names -- "$words[CURRENT]" 2>/dev/null)"})
      # A folder is completed into, not past: no space after docs/.
      compadd -S '' -- \${(M)names:#*/}
      compadd -- \${names:#*/}
      ;;
    files) _files ;;
  esac
}
# Autoloaded from $fpath, this file is the body of _dfs: run it. Sourced, register it.
if [ "$funcstack[1]" = _dfs ]; then _dfs "$@"; else compdef _dfs ${quote(bin)}; fi
`
}
