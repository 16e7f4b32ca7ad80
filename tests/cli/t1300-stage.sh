#!/bin/sh
# xtrk stage: stage moves appended to a run (who, when, why), the current stage in show, show --json,
# stage --list and queries; refused input that changes nothing; two people staging at once; fsck,
# gc, archive, bundles, push and pull.
. "$(dirname "$0")/lib.sh"

mkdir ws && cd ws
new_ws
xtrk commit-run -e exp --metric acc=0.95 >/dev/null 2>&1
xtrk commit-run -e exp --metric acc=0.50 >/dev/null 2>&1
xtrk commit-run -e other --metric acc=0.70 >/dev/null 2>&1
ONE=$(xtrk log -e exp --format json | json_get 1.id)
TWO=$(xtrk log -e exp --format json | json_get 0.id)
THREE=$(xtrk log -e other --format json | json_get 0.id)
cd "$TRASH"
W="xtrk -C ws"

# unchanged CMD...: CMD exits 2 and the store is byte-identical afterwards.
unchanged() {
	before=$(store_listing ws)
	expect_exit 2 "$@"
	expect_eq "$(store_listing ws)" "$before"
}

check "stage RUN NAME -m WHY: a record under refs/stages/RUN, the current stage in show and show --json" '
	$W stage exp~1 staging -m "first look" > out
	expect_contains "$(cat out)" "run ${ONE:0:12} is now in stage staging"
	expect_eq "$(ls ws/.xtrk/refs/stages/$ONE | wc -l)" 1
	$W show $ONE > show.txt
	expect_contains "$(cat show.txt)" "stage: staging"
	expect_contains "$(cat show.txt)" "staged: staging  (Test User <test@example.com>, "
	expect_contains "$(cat show.txt)" "first look"
	$W show --json $ONE > show.json
	expect_eq "$(json_get stage < show.json)" staging
	expect_eq "$(json_get stages.0.type < show.json)" stage
	expect_eq "$(json_get stages.0.message < show.json)" "first look"
	expect_eq "$(json_get stages.0.author < show.json)" "Test User <test@example.com>"
	expect_eq "$($W show --json $TWO | json_get stage 2>/dev/null || true)" ""
'

check "the last move is the current stage; the history stays, oldest first" '
	$W stage exp~1 production -m "ship it"
	expect_eq "$($W show --json $ONE | json_get stage)" production
	expect_eq "$($W show --json $ONE | json_get stages.0.stage)" staging
	expect_eq "$($W show --json $ONE | json_get stages.1.stage)" production
'

check "stage --list [EXP]: current stage per run and its history (who, when, why); --json" '
	$W stage other candidate
	$W stage --list > all
	expect_contains "$(cat all)" "exp ${ONE:0:12} production"
	expect_contains "$(cat all)" "other ${THREE:0:12} candidate"
	expect_contains "$(cat all)" "staged staging by Test User <test@example.com>: first look"
	expect_contains "$(cat all)" "staged production by Test User <test@example.com>: ship it"
	expect_not_contains "$(cat all)" "${TWO:0:12}"
	$W stage --list exp > one
	expect_not_contains "$(cat one)" other
	$W stage --list --json exp > one.json
	expect_eq "$(json_get 0.run < one.json)" "$ONE"
	expect_eq "$(json_get 0.stage < one.json)" production
	expect_eq "$(json_get 0.history.1.message < one.json)" "ship it"
'

check "log --where: stages contains NAME, stage == NAME, and the stages.0 column" '
	expect_eq "$($W log --where "stages contains \"production\"" --format json | json_get 0.id)" "$ONE"
	expect_eq "$($W log --where "stages contains \"production\"" --format json | json_get 1.id 2>/dev/null || true)" ""
	expect_eq "$($W log --where "stage == \"candidate\"" --format json | json_get 0.id)" "$THREE"
	expect_eq "$($W log --where "not stages contains \"production\"" --format json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" 2
'

check "refused, changing nothing: a bad stage name, a bad message, no such run, a usage error" '
	unchanged $W stage exp~1 "../evil"
	unchanged $W stage exp~1 ""
	unchanged $W stage exp~1 -bad
	unchanged $W stage exp~1 "$(printf "a%.0s" $(seq 65))"
	unchanged $W stage exp~1 ok -m "$(printf "bell\007")"
	unchanged $W stage exp~1
	unchanged $W stage --json exp~1 x
	before=$(store_listing ws)
	expect_exit 1 $W stage ffffffffffff staging
	expect_eq "$(store_listing ws)" "$before"
'

check "a removed run cannot be staged" '
	$W commit-run -e gone --metric acc=1 >/dev/null 2>&1
	G=$($W log -e gone --format json | json_get 0.id)
	$W rm $G >/dev/null 2>&1
	before=$(store_listing ws)
	expect_exit 2 $W stage $G production
	expect_eq "$(store_listing ws)" "$before"
'

check "two people staging the same run at once: both recorded, one current (the later)" '
	for who in alice bob; do
		mkdir -p "$TRASH/$who"
		git config -f "$TRASH/$who/.gitconfig" user.name "$who"
		git config -f "$TRASH/$who/.gitconfig" user.email "$who@example.org"
	done
	for i in 1 2 3 4 5; do
		HOME=$TRASH/alice GIT_CONFIG_GLOBAL=$TRASH/alice/.gitconfig $W stage exp archived -m "alice $i" >/dev/null &
		HOME=$TRASH/bob GIT_CONFIG_GLOBAL=$TRASH/bob/.gitconfig $W stage exp production -m "bob $i" >/dev/null &
		wait
	done
	$W show --json $TWO > two.json
	python3 - two.json <<EOF
import json, sys
r = json.load(open(sys.argv[1]))
moves = [s for s in r["stages"] if s["type"] == "stage"]
assert len(moves) == 10, len(moves)
assert sorted(m["message"] for m in moves) == sorted(["alice %d" % i for i in range(1, 6)] + ["bob %d" % i for i in range(1, 6)])
last = max(moves, key=lambda m: (m["time"], m["id"]))
assert r["stage"] == last["stage"], (r["stage"], last)
assert {m["author"].split()[0] for m in moves} == {"alice", "bob"}
EOF
	xtrk -C ws fsck -q
'

check "fsck names a damaged stage record, a ref that does not hold its name, a record of another run" '
	cp -a ws dmg
	R=$(ls dmg/.xtrk/refs/stages/$ONE | head -1)
	printf "{\"not\":\"a record\"}" > junk
	J=$(xtrk -C dmg hash-object -w junk)
	echo $J > dmg/.xtrk/refs/stages/$ONE/$J
	expect_exit 3 xtrk -C dmg fsck > f1 2>&1 || { cat f1; false; }
	expect_contains "$(cat f1)" "stage record $J of run $ONE is not a stage record"
	rm dmg/.xtrk/refs/stages/$ONE/$J
	echo 0000 > dmg/.xtrk/refs/stages/$ONE/$R
	expect_exit 3 xtrk -C dmg fsck > f2 2>&1
	expect_contains "$(cat f2)" "does not hold the record ID it is named by"
	echo $R > dmg/.xtrk/refs/stages/$ONE/$R
	mkdir -p dmg/.xtrk/refs/stages/$TWO && echo $R > dmg/.xtrk/refs/stages/$TWO/$R
	expect_exit 3 xtrk -C dmg fsck > f3 2>&1
	expect_contains "$(cat f3)" "belongs to another run"
'

check "gc keeps stage records (refs/stages is a namespace it knows)" '
	cp -a ws g
	xtrk -C g gc --prune=now > gc.out 2>&1 || { cat gc.out; false; }
	expect_eq "$(xtrk -C g show --json $ONE | json_get stage)" production
	xtrk -C g fsck -q
'

check "bundles carry stage records; import unites them" '
	xtrk -C ws bundle create -o "$TRASH/b.tar" -e exp >/dev/null 2>&1
	xtrk init -q imp && xtrk -C imp bundle import "$TRASH/b.tar" >/dev/null 2>&1
	expect_eq "$(xtrk -C imp show --json $ONE | json_get stage)" production
	expect_eq "$(xtrk -C imp stage --list --json | python3 -c "import json,sys; print([r for r in json.load(sys.stdin) if r[\"run\"] == \"$ONE\"][0][\"history\"][0][\"message\"])")" "first look"
	xtrk -C imp bundle import "$TRASH/b.tar" >/dev/null 2>&1
	expect_eq "$(ls imp/.xtrk/refs/stages/$ONE | wc -l)" "$(ls ws/.xtrk/refs/stages/$ONE | wc -l)"
	xtrk -C imp fsck -q
'

check "archive takes a run's stage refs out with it; importing the archive brings them back" '
	cp -a ws arc
	xtrk -C arc archive -o "$TRASH/arc.tar" $ONE >/dev/null 2>&1
	test ! -e arc/.xtrk/refs/stages/$ONE
	xtrk -C arc fsck -q
	xtrk -C arc gc --prune=now >/dev/null 2>&1
	xtrk -C arc bundle import "$TRASH/arc.tar" >/dev/null 2>&1
	expect_eq "$(xtrk -C arc show --json $ONE | json_get stage)" production
	xtrk -C arc fsck -q
'

check "push and pull carry stage records" '
	$W remote add shared "$TRASH/remote" >/dev/null
	$W push --all shared >/dev/null 2>&1
	xtrk init -q peer && xtrk -C peer remote add shared "$TRASH/remote" >/dev/null
	xtrk -C peer pull shared >/dev/null 2>&1
	expect_eq "$(xtrk -C peer show --json $ONE | json_get stage)" production
	expect_eq "$(xtrk -C peer show --json $THREE | json_get stage)" candidate
	xtrk -C peer stage $THREE staging -m "peer says"
	xtrk -C peer push shared >/dev/null 2>&1
	$W pull shared >/dev/null 2>&1
	expect_eq "$($W show --json $THREE | json_get stage)" staging
	xtrk -C remote fsck -q 2>/dev/null || xtrk -C "$TRASH/remote" fsck -q
'

check "bash completion knows stage and approve, their options, stage names and runs" '
	bash -ec "
		. \"$XTRK_TEST_SRCDIR/contrib/completion/xtrk.bash\"
		cd ws
		c() { COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _xtrk \"$XTRK_BIN\" || return 1; echo \"\${COMPREPLY[*]}\"; }
		test \"\$(c xtrk sta)\" = \"stage status\" || test \"\$(c xtrk sta)\" = \"status stage\"
		test \"\$(c xtrk appr)\" = approve
		test \"\$(c xtrk approve --ration)\" = --rationale
		test \"\$(c xtrk approve exp --stage prod)\" = production
		test \"\$(c xtrk stage --li)\" = --list
		c xtrk stage ex | grep -x exp
		c xtrk stage exp arch | grep -x archived
	"
'

finish
