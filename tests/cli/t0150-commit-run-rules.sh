#!/bin/sh
# [require] rules in .xtrk/config: a run that breaks one is refused and nothing is written.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
echo d > d.txt

refused() {
	# refused RULE ARGS...: exit 1, the rule named, the store unchanged.
	rule=$1; shift
	before=$(store_listing)
	err=$(xtrk commit-run "$@" 2>&1) && { echo "was not refused"; return 1; }
	expect_contains "$err" "run refused by rule '$rule'"
	expect_exit 1 xtrk commit-run "$@"
	expect_eq "$(store_listing)" "$before"
}

check "require.params names the missing param" '
	git config -f .xtrk/config require.params "lr, seed"
	refused require.params -p lr=1
	xtrk commit-run -p lr=1 --seed 3 >/dev/null
	git config -f .xtrk/config --unset require.params
'
check "require.datasets" '
	git config -f .xtrk/config require.datasets true
	refused require.datasets --model d.txt
	xtrk commit-run -d d.txt >/dev/null
	git config -f .xtrk/config --unset require.datasets
'
check "require.experiment-name is a whole-name regular expression" '
	git config -f .xtrk/config require.experiment-name "[a-z]+-v[0-9]+"
	refused require.experiment-name -e scratch
	refused require.experiment-name -e mnist-v1x
	xtrk commit-run -e mnist-v2 >/dev/null
	git config -f .xtrk/config --unset require.experiment-name
'
check "require.clean-source refuses a dirty tree" '
	git config -f .xtrk/config require.clean-source true
	echo "# dirty" >> train.py
	refused require.clean-source
	git checkout -q train.py
	xtrk commit-run >/dev/null
	git config -f .xtrk/config --unset require.clean-source
'
check "core.experiment sets the default experiment" '
	git config -f .xtrk/config core.experiment vision
	id=$(xtrk commit-run)
	expect_eq "$(xtrk show --json $id | json_get experiment)" vision
'
finish
