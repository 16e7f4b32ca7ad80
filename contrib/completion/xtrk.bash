# bash completion for xtrk: subcommands, each subcommand's options, run names (tags and
# experiments), and files elsewhere.  The lists are read from the program's own help
# (`xtrk --help`, `xtrk COMMAND --help`), so they stay in step with the installed xtrk.

_xtrk_commands() {
	"${1:-xtrk}" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'
}

_xtrk_options() {
	"$1" "$2" --help 2>&1 | grep -oE -- '(^|[ ,[])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[ ,[]*//' | sort -u
}

# Tag and experiment names in a store's refs folder (with "experiments" as $2: experiments only).
_xtrk_refnames() {
	[ -d "$1" ] || return 0
	(cd "$1" 2>/dev/null && {
		[ "${2:-}" = experiments ] || find tags -type f ! -name '*.lock' 2>/dev/null
		find experiments -mindepth 1 -maxdepth 1 -type d 2>/dev/null
	}) | sed 's,^[a-z]*/,,'
}

# The refs folder of the store found from the current folder (or -C DIR).
_xtrk_store_refs() {
	local d
	d=$(cd "${1:-.}" 2>/dev/null && pwd) || return 1
	while [ -n "$d" ] && [ ! -d "$d/.xtrk" ]; do
		[ "$d" = / ] && return 1
		d=${d%/*}; [ -z "$d" ] && d=/
	done
	echo "$d/.xtrk/refs"
}

# Tag and experiment names of the store found from the current folder (or -C DIR).
_xtrk_runs() {
	local refs
	refs=$(_xtrk_store_refs "$1") || return 0
	_xtrk_refnames "$refs" "${2:-}"
}

# Model names, as the changelog's message lists them when asked for none.
_xtrk_models() {
	"$1" -C "$2" changelog --json " " 2>&1 | sed -n 's/.*; models: //p' | tr ',' '\n' | sed 's/^ *//'
}

# Remote names, and the folder of one ($3), as `xtrk remote` lists them.
_xtrk_remotes() { "$1" -C "$2" remote 2>/dev/null | cut -f1; }
_xtrk_remote_path() { "$1" -C "$2" remote 2>/dev/null | awk -F'\t' -v n="$3" '$1 == n { print $2 }'; }

# push|pull [options] NAME [RUN...] [-e EXP]: NAME is a remote; RUN and EXP are named on the
# sending side (this store for push, the remote's for pull).
_xtrk_transfer() {
	local prog=$1 dir=$2 cmd=$3 i=$4 cur=$5 prev=${COMP_WORDS[COMP_CWORD - 1]} remote="" refs="" w
	for ((i = i + 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-e | --experiment) i=$((i + 1)) ;;
		-*) ;;
		*) remote=$w; break ;;
		esac
	done
	if [ "$cmd" = pull ]; then
		[ -n "$remote" ] && refs=$(_xtrk_remote_path "$prog" "$dir" "$remote")/refs
	else
		refs=$(_xtrk_store_refs "$dir") || refs=""
	fi
	if [ "$prev" = -e ] || [ "$prev" = --experiment ]; then
		COMPREPLY=($(compgen -W "$(_xtrk_refnames "$refs" experiments)" -- "$cur"))
	elif [ -z "$remote" ]; then
		COMPREPLY=($(compgen -W "$(_xtrk_remotes "$prog" "$dir")" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "$(_xtrk_refnames "$refs")" -- "$cur"))
	fi
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
	if [ "${COMP_WORDS[COMP_CWORD - 1]}" = --format ]; then
		case $cmd in
		series) COMPREPLY=($(compgen -W "table csv json" -- "$cur")); return 0 ;;
		export) COMPREPLY=($(compgen -W "json csv" -- "$cur")); return 0 ;;
		log) COMPREPLY=($(compgen -W "table json csv" -- "$cur")); return 0 ;;
		esac
	fi
	case "$cmd:${COMP_WORDS[COMP_CWORD - 1]}" in
	approve:--stage | stage:-m | stage:--message | approve:--rationale | approve:--criteria | approve:--mitigation)
		[ "${COMP_WORDS[COMP_CWORD - 1]}" = --stage ] &&
			COMPREPLY=($(compgen -W "candidate staging production archived" -- "$cur"))
		return 0 ;;
	approve:--key)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0 ;;
	review:--ignore)
		COMPREPLY=($(compgen -W "no-seed no-source dirty-source untracked-files data-no-source staged-no-note staged-no-approval policy" -- "$cur"))
		return 0 ;;
	review:--where)
		return 0 ;;
	audit:--origin)
		local refs
		refs=$(_xtrk_store_refs "$dir") && COMPREPLY=($(compgen -W "$(ls "${refs%/refs}/audit.d" 2>/dev/null)" -- "$cur"))
		return 0 ;;
	esac
	case $cmd in
	push | pull)
		_xtrk_transfer "$prog" "$dir" "$cmd" "$i" "$cur" ;;
	show | diff | checkout | logs | series | report | tag | note | rm | lineage | export | bundle | archive | approve)
		COMPREPLY=($(compgen -W "$(_xtrk_runs "$dir")" -- "$cur") $(compgen -f -- "$cur")) ;;
	stage)
		COMPREPLY=($(compgen -W "$(_xtrk_runs "$dir") candidate staging production archived" -- "$cur")) ;;
	changelog)
		COMPREPLY=($(compgen -W "$(_xtrk_models "$prog" "$dir")" -- "$cur")) ;;
	gc | retain | du | count-objects | audit | review) ;;
	*)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
	return 0
}

complete -o filenames -o bashdefault -F _xtrk xtrk
