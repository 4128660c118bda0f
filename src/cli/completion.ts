/**
 * Shell completion scripts generated from the command tree (commander has none built in).
 * The scripts embed the tree: completing a command or a flag never starts node. Only a profile name (the value of
 * --profile, `profile use|show`) runs `tpx profile list`, whose piped output is one tab-separated row per profile.
 *
 * Words that are values of flags (`--profile sandbox`) are skipped when finding the command being completed, so
 * `tpx --profile sandbox thing l<TAB>` completes `list`.
 */
import type { Command } from 'commander';

export type Shell = 'bash' | 'zsh' | 'fish';

/** The values of a flag or an argument: a fixed list, or the profile names of the config file. */
export type Values = string[] | 'profiles';

/** Values of flags, by long name (the same everywhere the flag exists). */
export const FLAG_VALUES: Record<string, Values> = {
  '--profile': 'profiles',
  '--via': ['thingworx', 'thingpark'],
  '--bind-policy': ['last-in-wins', 'first-in-wins'],
  '--live-by': ['connections', 'last-used'],
  '--bind-refusal': ['whole-message', 'per-name'],
  '--lost-bind-pushes': ['accept', 'refuse'],
  '--takeover-notice': ['none', 'unbind'],
  '--log-format': ['text', 'json'],
  '--durability': ['full', 'normal'],
  '--thingpark-api': ['dx', 'iotflow'],
  '--reconnect-strategy': ['CALM', 'NORMAL', 'AGGRESSIVE'],
  '--export': ['xml'],
  '--tls-version': ['1.2', '1.1'],
  '--connector': ['thingworx', 'amqp'],
};

/** Values of a command's first argument, by command path. */
export const ARG_VALUES: Record<string, Values> = {
  completion: ['bash', 'zsh', 'fish'],
  'profile use': 'profiles',
  'profile show': 'profiles',
};

interface Node {
  path: string[];
  subcommands: string[];
  options: string[];
  descriptions: Record<string, string>;
}

function visibleCommands(cmd: Command): Command[] {
  return cmd.commands.filter((c) => c.name() !== 'help' && !(c as unknown as { _hidden?: boolean })._hidden);
}

export function commandTree(root: Command): Node[] {
  const out: Node[] = [];
  const walk = (cmd: Command, path: string[], inherited: string[]) => {
    const own = cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));
    const options = [...new Set([...inherited, ...own, '--help'])];
    const subs = visibleCommands(cmd);
    const descriptions: Record<string, string> = {};
    for (const s of subs) descriptions[s.name()] = s.description();
    for (const o of cmd.options) if (o.long) descriptions[o.long] = o.description;
    out.push({ path, subcommands: subs.map((s) => s.name()), options, descriptions });
    for (const s of subs) walk(s, [...path, s.name()], path.length === 0 ? own : inherited);
  };
  walk(root, [], []);
  return out;
}

/** Every flag (long and short) that is followed by a value (`<value>`, not an optional `[value]`). */
export function valueFlags(root: Command): string[] {
  const out = new Set<string>();
  const walk = (cmd: Command) => {
    for (const o of cmd.options) {
      if (!o.required) continue;
      if (o.long) out.add(o.long);
      if (o.short) out.add(o.short);
    }
    for (const s of cmd.commands) walk(s);
  };
  walk(root);
  return [...out].sort();
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function completionScript(root: Command, shell: Shell): string {
  const tree = commandTree(root);
  const flags = valueFlags(root);
  if (shell === 'bash') return bashScript(tree, flags);
  if (shell === 'zsh') return zshScript(tree, flags);
  return fishScript(tree, flags);
}

/** Shell `case` arms printing the values of flags and arguments (a profile list runs tpx). */
function valueCases(indent: string, printList: (words: string[]) => string, profiles: string): string {
  const arm = (v: Values) => (v === 'profiles' ? profiles : printList(v));
  return [
    ...Object.entries(FLAG_VALUES).map(([flag, v]) => `${indent}${q(flag)}) ${arm(v)} ;;`),
    ...Object.entries(ARG_VALUES).map(([path, v]) => `${indent}${q(`@${path}`)}) ${arm(v)} ;;`),
  ].join('\n');
}

const PROFILES_SH = `tpx profile list 2>/dev/null | cut -f2`;

/** The functions bash and zsh share: which flags take a value, and the values of a flag or an argument. */
function shellHelpers(flags: string[]): string {
  return `_tpx_takes_value() {
  case "$1" in
    ${flags.map(q).join('|') || "''"}) return 0 ;;
  esac
  return 1
}
_tpx_values() {
  case "$1" in
${valueCases('    ', (v) => `printf '%s\\n' ${v.map(q).join(' ')}`, PROFILES_SH)}
  esac
}`;
}

/**
 * The loop bash and zsh run over the words typed so far: the command path (`cpath`), skipping flags and their
 * values, and how many arguments follow it (`nargs`). `known` says whether a path is a command.
 */
function pathLoop(from: number, to: string, word: string, known: string, quiet: string): string {
  return `  for ((i = ${from}; i < ${to}; i++)); do
    w="\${${word}}"
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      --*=*) continue ;;
      -*) _tpx_takes_value "$w" && skip=1; continue ;;
    esac
    if ${known} "\${cpath:+$cpath }$w"${quiet}; then cpath="\${cpath:+$cpath }$w"; nargs=0
    else nargs=$((nargs + 1)); fi
  done`;
}

function bashScript(tree: Node[], flags: string[]): string {
  const cases = tree
    .map((n) => `    ${q(n.path.join(' '))}) words=${q([...n.subcommands, ...n.options].join(' '))} ;;`)
    .join('\n');
  return `# bash completion for tpx (generated by: tpx completion bash)
# Install: tpx completion bash > ~/.local/share/bash-completion/completions/tpx
_tpx_complete() {
  local cur prev cpath w i skip=0 nargs=0
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev=""
  [[ COMP_CWORD -gt 1 ]] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cpath=""
${pathLoop(1, 'COMP_CWORD', 'COMP_WORDS[i]', '_tpx_words', ' >/dev/null')}
  if ((skip)); then
    COMPREPLY=($(compgen -W "$(_tpx_values "$prev")" -- "$cur"))
    return
  fi
  local words
  words="$(_tpx_words "$cpath")"
  if [[ "$cur" != -* && nargs -eq 0 ]]; then words="$words $(_tpx_values "@$cpath")"; fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
${shellHelpers(flags)}
_tpx_words() {
  local words=""
  case "$1" in
${cases}
    *) return 1 ;;
  esac
  printf '%s' "$words"
}
complete -F _tpx_complete tpx
`;
}

function zshScript(tree: Node[], flags: string[]): string {
  const cases = tree
    .map((n) => {
      const items = [
        ...n.subcommands.map((s) => `${s}:${(n.descriptions[s] ?? '').replace(/[:']/g, ' ')}`),
        ...n.options.map((o) => `${o}:${(n.descriptions[o] ?? '').replace(/[:']/g, ' ')}`),
      ];
      return `    ${q(n.path.join(' '))}) items=(${items.map(q).join(' ')}) ;;`;
    })
    .join('\n');
  // Never a variable named "path" in zsh: it is the array tied to PATH.
  return `#compdef tpx
# zsh completion for tpx (generated by: tpx completion zsh)
# Install: tpx completion zsh > "\${fpath[1]}/_tpx"
_tpx() {
  local cpath="" w i skip=0 nargs=0
  local -a items vals
${pathLoop(2, 'CURRENT', 'words[i]', '_tpx_known', '')}
  if ((skip)); then
    vals=(\${(f)"$(_tpx_values "\${words[CURRENT-1]}")"})
    compadd -a vals
    return
  fi
  case "$cpath" in
${cases}
    *) items=() ;;
  esac
  if [[ "\${words[CURRENT]}" != -* && nargs -eq 0 ]]; then
    vals=(\${(f)"$(_tpx_values "@$cpath")"})
    (( \${#vals} )) && compadd -a vals
  fi
  _describe 'tpx' items
}
${shellHelpers(flags)}
_tpx_known() {
  case "$1" in
${tree.map((n) => `    ${q(n.path.join(' '))}) return 0 ;;`).join('\n')}
  esac
  return 1
}
compdef _tpx tpx
`;
}

function fishScript(tree: Node[], flags: string[]): string {
  const lines = [
    '# fish completion for tpx (generated by: tpx completion fish)',
    '# Install: tpx completion fish > ~/.config/fish/completions/tpx.fish',
    `set -g __tpx_value_flags ${flags.map(q).join(' ')}`,
    `set -g __tpx_paths ${tree
      .filter((n) => n.path.length)
      .map((n) => q(n.path.join(' ')))
      .join(' ')}`,
    '# The command being completed (flag values skipped), e.g. "thing list".',
    'function __tpx_path',
    '  set -l tokens (commandline -opc)',
    '  set -e tokens[1]',
    "  set -l p ''",
    '  set -l skip 0',
    '  for w in $tokens',
    '    if test $skip = 1',
    '      set skip 0',
    '      continue',
    '    end',
    '    switch $w',
    "      case '--*=*'",
    '        continue',
    "      case '-*'",
    '        if contains -- $w $__tpx_value_flags',
    '          set skip 1',
    '        end',
    '        continue',
    '    end',
    '    set -l next (string trim -- "$p $w")',
    '    if contains -- $next $__tpx_paths',
    '      set p $next',
    '    end',
    '  end',
    '  echo $p',
    'end',
    'function __tpx_at',
    '  test (__tpx_path) = "$argv[1]"',
    'end',
    `function __tpx_profiles`,
    `  ${PROFILES_SH}`,
    'end',
    'complete -c tpx -f',
  ];
  const fishValues = (v: Values) => (v === 'profiles' ? '(__tpx_profiles)' : v.join(' '));
  for (const n of tree) {
    const cond = `__tpx_at ${q(n.path.join(' '))}`;
    for (const s of n.subcommands) {
      lines.push(`complete -c tpx -n ${q(cond)} -a ${q(s)} -d ${q(n.descriptions[s] ?? '')}`);
    }
    const args = ARG_VALUES[n.path.join(' ')];
    if (args) lines.push(`complete -c tpx -n ${q(cond)} -a ${q(fishValues(args))}`);
    for (const o of n.options) {
      if (!o.startsWith('--')) continue;
      const values = FLAG_VALUES[o];
      const takes = flags.includes(o);
      lines.push(
        `complete -c tpx -n ${q(cond)} -l ${q(o.slice(2))}${takes ? ' -r' : ''}` +
          `${values ? ` -x -a ${q(fishValues(values))}` : ''} -d ${q(n.descriptions[o] ?? '')}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
