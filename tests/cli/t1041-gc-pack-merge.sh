#!/bin/sh
# xtrk gc merges many small old packs (a commit writes one each) into one, dropping their garbage;
# a few packs, and packs younger than the grace period, are left as they are.  Every run still
# checks out byte for byte.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
printf '*\n!*.py\n' >> .git/info/exclude

age() { find "$@" -type f -exec touch -d '3 weeks ago' {} +; }
npacks() { ls .xtrk/objects/pack | grep -c '\.pack$' || true; }
mkdir -p keep
: > runs.txt
# some_packs N: N packs, each of one run (a small data file), as commit-run writes them
some_packs() {
	i=0
	while [ $i -lt $1 ]; do
		rm -rf data && mkdir data && head -c 500 /dev/urandom > data/f
		id=$(xtrk commit-run -e m -d data) && cp data/f keep/$id && echo "$id $TRASH/keep/$id" >> runs.txt
		i=$((i + 1))
	done
}
verify_runs() {
	while read -r id copy; do
		rm -rf data && xtrk checkout --force --no-source "$id" >/dev/null && cmp data/f "$copy" ||
			{ echo "run $id does not check out as it was"; return 1; }
	done < runs.txt
}

check 'a few small old packs are left as they are' '
	some_packs 6
	before=$(npacks); [ "$before" -ge 6 ]
	age .xtrk/objects
	out=$(xtrk gc --json); echo "$out"
	expect_eq "$(npacks)" "$before"
	expect_contains "$out" "\"packs_rewritten\": 0"
	verify_runs
'

check 'many small old packs are merged into one; as many young packs stay' '
	some_packs 30
	before=$(npacks); echo "$before packs"; [ "$before" -gt 32 ]
	age .xtrk/objects
	out=$(xtrk gc --json); echo "$out"
	expect_eq "$(npacks)" 1
	expect_contains "$out" "\"packs_rewritten\": $before"
	xtrk fsck --read-data
	verify_runs
	# young packs (within the grace period): many, but left as they are
	some_packs 34
	before=$(npacks); [ "$before" -eq 35 ]
	out=$(xtrk gc --json); echo "$out"
	expect_eq "$(npacks)" "$before"
	verify_runs
	# once old, they merge with the rest; more packs than the process may open files is no obstacle
	age .xtrk/objects
	(ulimit -n 32 && xtrk gc)
	expect_eq "$(npacks)" 1
	xtrk fsck --read-data
	verify_runs
'

finish
