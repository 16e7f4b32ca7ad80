# bash completion for xtrk: subcommands, each subcommand's options, run names (tags and
# experiments), and files elsewhere.  The lists are read from the program's own help
# (`xtrk --help`, `xtrk COMMAND --help`), so they stay in step with the installed xtrk.

_xtrk_commands() {
	"${1:-xtrk}" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'
}

_xtrk_options() {
	"$1" "$2" --help 2>&1 | grep -oE -- '(^|[ ,[])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[ ,[]*//' | sort -u
}

# Tag and experiment names of the store found from the current folder (or -C DIR).
_xtrk_runs() {
	local dir=${1:-.} d
	d=$(cd "$dir" 2>/dev/null && pwd) || return 0
	while [ -n "$d" ] && [ ! -d "$d/.xtrk" ]; do
		[ "$d" = / ] && return 0
		d=${d%/*}; [ -z "$d" ] && d=/
	done
	[ -d "$d/.xtrk/refs" ] || return 0
	(cd "$d/.xtrk/refs" 2>/dev/null && {
		find tags -type f ! -name '*.lock' 2>/dev/null
		find experiments -mindepth 1 -maxdepth 1 -type d 2>/dev/null
	}) | sed 's,^[a-z]*/,,'
}

_xtrk() {
	local cur prog=$1 cmd="" dir=. i w
	cur=${COMP_WORDS[COMP_CWORD]}
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-C) i=$((i + 1)); dir=${COMP_WORDS[i]:-.} ;;
		-C*) dir=${w#-C} ;;
		-*) ;;
		*) cmd=$w; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		if [ "${COMP_WORDS[COMP_CWORD - 1]}" = -C ]; then
			COMPREPLY=($(compgen -d -- "$cur"))
		elif [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-C --version --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_xtrk_commands "$prog")" -- "$cur"))
		fi
		return 0
	fi
	if [[ $cmd == gc && $cur == --prune=* ]]; then
		COMPREPLY=($(compgen -P --prune= -W "now never 2.weeks.ago 1.week.ago 3.days.ago" -- "${cur#--prune=}"))
		return 0
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_xtrk_options "$prog" "$cmd")" -- "$cur"))
		return 0
	fi
	case $cmd in
	show | diff | checkout | logs | series | tag | note | rm | lineage | export | push | bundle)
		COMPREPLY=($(compgen -W "$(_xtrk_runs "$dir")" -- "$cur") $(compgen -f -- "$cur")) ;;
	gc) ;;
	*)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
	return 0
}

complete -o filenames -o bashdefault -F _xtrk xtrk
