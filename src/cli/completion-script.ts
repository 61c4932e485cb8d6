// The shell completion scripts `dfs autocomplete` prints. One core in plain sh, which bash and zsh
// both run: tables made from the command map (src/cli/completion-model.ts) and a walk over the words
// typed, ending in what to offer; then the glue per shell, which reads the typed word's quoting
// and quotes what it offers (bash by hand, zsh by compadd). dfs names come from the hidden
// `dfs __complete-names PREFIX`, which asks the proxy.

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
// saying what (words, names, files or none), then for words the words, one a line. For names and
// files the first line also says how many of the words before the last are the same argument, which
// bash split at a colon or an equals sign (a:b.txt is a, :, b.txt): `names 2`.
const CORE = `_dfs_candidates() {
  local id='' word position=0 value=0 glued=0 part=0 previous=''
  while [ $# -gt 1 ]; do
    word=$1
    shift
    # bash splits --wait=5s into --wait, =, 5s: after a flag, what follows = is its value. Any other
    # = or :, as in alice:staff or a:b.txt, joins the words either side into one argument.
    if [ "$word" = = ]; then
      case $previous in -*) value=1; previous=$word; continue ;; esac
    fi
    case $word in
      = | :) glued=1; part=$((part + 1)); previous=$word; continue ;;
    esac
    previous=$word
    if [ "$value" = 1 ]; then value=0; continue; fi
    if [ "$glued" = 1 ]; then glued=0; part=$((part + 1)); continue; fi
    if [ "$(_dfs_kind "$id")" = topic ]; then
      case $(_dfs_kind "\${id:+$id:}$word") in
        topic | command) id=\${id:+$id:}$word; continue ;;
        *) echo none; return ;;
      esac
    fi
    case $word in
      # What follows is another program's command line (dfs lock NAME -- COMMAND).
      --) echo none; return ;;
      --*=*) part=0 ;;
      -*) part=0; case " $(_dfs_valued "$id") " in *" $word "*) value=1 ;; esac ;;
      *) position=$((position + 1)); part=1 ;;
    esac
  done
  # A flag's value (a duration, a URL, a path): nothing that would not mislead.
  if [ "$value" = 1 ]; then echo none; return; fi
  if [ "$1" = = ]; then
    case $previous in -*) echo none; return ;; esac
  fi
  if [ "$(_dfs_kind "$id")" = topic ]; then echo words; _dfs_children "$id"; return; fi
  # The word being completed goes on with the argument before it (a:b, or just after the colon):
  # only a dfs name does that; the part after the colon of alice:staff is nothing to complete.
  if [ "$glued" = 1 ] || [ "$1" = : ] || [ "$1" = = ]; then
    case $(_dfs_arg "$id" $((position - 1))) in
      names) echo "names $part" ;;
      *) echo none ;;
    esac
    return
  fi
  case $1 in
    -*) echo words; _dfs_flags "$id" ;;
    *)
      case $(_dfs_arg "$id" "$position") in
        names) echo 'names 0' ;;
        files) echo 'files 0' ;;
        *) _dfs_arg "$id" "$position" ;;
      esac
      ;;
  esac
}
`

// bash gives the words as typed, quotes and backslashes in them, split where COMP_WORDBREAKS says
// (at : and = among others); readline replaces only the text after the last of those, or after an
// opening quote, with each reply as it stands. So the glue reads the typed argument as the shell
// will (_dfs_word), asks for what it means, and hands back each candidate less what stays on the
// line, quoted as the text it replaces must be: backslashes outside quotes, and inside "…" or '…'
// what those need (readline closes the quote). A name with a space, a quote, $, * or ; in it goes
// on the line as that one argument.
function bashGlue(bin: string): string {
  return `# Reads a typed word as the shell will: sets _dfs_text to what it means, _dfs_quote to the quote
# left open at its end (' or " or nothing), and _dfs_opened to the length of _dfs_text before it.
_dfs_word() {
  local word=$1 c
  _dfs_text='' _dfs_quote='' _dfs_opened=0
  while [ -n "$word" ]; do
    c=\${word:0:1}
    word=\${word:1}
    if [ "$_dfs_quote" = "'" ]; then
      if [ "$c" = "'" ]; then _dfs_quote=''; else _dfs_text+=$c; fi
    elif [ "$_dfs_quote" = '"' ]; then
      case $c in
        '"') _dfs_quote='' ;;
        '\\') case \${word:0:1} in '$' | '\`' | '"' | '\\') _dfs_text+=\${word:0:1}; word=\${word:1} ;; *) _dfs_text+=$c ;; esac ;;
        *) _dfs_text+=$c ;;
      esac
    else
      case $c in
        '\\') _dfs_text+=\${word:0:1}; word=\${word:1} ;;
        "'" | '"') _dfs_quote=$c; _dfs_opened=\${#_dfs_text} ;;
        *) _dfs_text+=$c ;;
      esac
    fi
  done
}

# One candidate as the reply that replaces readline's text: less what stays on the line, quoted.
_dfs_reply() {
  local rest=\${1#"$2"} quoted
  case $_dfs_quote in
    "'") quoted=\${rest//"'"/"'\\\\''"} ;;
    '"')
      quoted=\${rest//'\\'/'\\\\'}
      quoted=\${quoted//'"'/'\\"'}
      quoted=\${quoted//'$'/'\\$'}
      quoted=\${quoted//'\`'/'\\\`'}
      ;;
    *) printf -v quoted '%q' "$rest" ;;
  esac
  # The name is what the line has already (printf %q would make that two quotes).
  if [ -z "$rest" ]; then quoted=''; fi
  COMPREPLY+=("$quoted")
}

_dfs_bash() {
  local IFS=$'\\n' cur=\${COMP_WORDS[COMP_CWORD]} line kind part keep
  local -a lines=()
  while IFS= read -r line; do lines+=("$line"); done < <(_dfs_candidates "\${COMP_WORDS[@]:1:COMP_CWORD}")
  COMPREPLY=()
  kind=\${lines[0]%% *}
  case $kind in
    words) while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen -W "\${lines[*]:1}" -- "$cur") ;;
    names | files)
      part=\${lines[0]#* }
      # What stays on the line: before the opening quote, or up to the colon bash split at.
      printf -v line '%s' "\${COMP_WORDS[@]:COMP_CWORD-part:part}"
      _dfs_word "$line"
      keep=$_dfs_text
      case $cur in : | =) keep+=$cur ;; esac
      printf -v line '%s' "\${COMP_WORDS[@]:COMP_CWORD-part:part+1}"
      _dfs_word "$line"
      if [ -n "$_dfs_quote" ]; then keep=\${_dfs_text:0:_dfs_opened}; fi
      if [ "$kind" = names ]; then
        while IFS= read -r line; do _dfs_reply "$line" "$keep"; done < <(${quote(bin)} __complete-names -- "$_dfs_text" 2>/dev/null)
      else
        while IFS= read -r line; do
          if [ -d "$line" ]; then line+=/; fi
          _dfs_reply "$line" "$keep"
        done < <(compgen -f -- "$_dfs_text")
      fi
      # A folder is completed into, not past: no space after docs/.
      if [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == */ ]]; then compopt -o nospace 2>/dev/null; fi
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
    names*)
      # $PREFIX is what was typed before the cursor, its quoting made zsh's own: (Q) reads it as the
      # shell will. compadd quotes each name as the line needs it (backslashes, or inside the quote
      # the user opened) and zsh closes the quote.
      names=(\${(f)"$(${quote(bin)} __complete-names -- "\${(Q)PREFIX}" 2>/dev/null)"})
      # A folder is completed into, not past: no space after docs/.
      compadd -S '' -- \${(M)names:#*/}
      compadd -- \${names:#*/}
      # Matched or not by the two together: a last compadd that added none would make zsh beep.
      (( $#names ))
      ;;
    files*) _files ;;
  esac
}
# Autoloaded from $fpath, this file is the body of _dfs: run it. Sourced, register it.
if [ "$funcstack[1]" = _dfs ]; then _dfs "$@"; else compdef _dfs ${quote(bin)}; fi
`
}
