#!/bin/sh
# xtrk review: metadata completeness across runs (missing seed, source, dirty source, untracked files
# not captured, data without provenance, staged runs without a note or a valid approval, runs that
# fail today's [stage] policy), exit 1 when anything is found; --where, --ignore, --json.
# Approvals are signed with real ed25519 keys; a forged one does not count.
. "$(dirname "$0")/lib.sh"

. "$XTRK_TEST_SRCDIR/tests/helpers/signers.sh"
people alice bob

mkdir ws && cd ws
new_git_repo
printf '.xtrk/\ndata.csv\nbig.bin\n' > .gitignore && git add .gitignore && git commit -qm ignore
new_ws
echo "a,b" > data.csv
newest() { xtrk log --format json | json_get 0.id; }
run() { xtrk commit-run "$@" >/dev/null 2>&1; newest; }
CLEAN=$(run -e exp --seed 1 --metric acc=0.9 -d train=data.csv@s3://bucket/train.csv)
NOSEED=$(run -e exp --metric acc=0.5)
NOPROV=$(run -e exp --seed 2 -d train=data.csv)
echo "# local change" >> train.py
DIRTY=$(run -e exp --seed 3)
git checkout -q train.py
echo scratch > scratch.txt
git config -f .xtrk/config capture.untracked false
UNCAPTURED=$(run -e exp --seed 4)
git config -f .xtrk/config capture.untracked true
git config -f .xtrk/config capture.untracked-max-file 2
printf x > tiny.txt
SKIPPED=$(run -e exp --seed 5)
git config -f .xtrk/config --unset capture.untracked-max-file
rm scratch.txt tiny.txt
STAGED=$(run -e other --seed 6)
cd "$TRASH"
mkdir nogit && (cd nogit && new_ws && xtrk commit-run -e exp --seed 7 >/dev/null 2>&1)
signers alice bob > ws/.xtrk/allowed_signers
W="xtrk -C ws"
git config -f ws/.xtrk/config role.reviewer.members "alice@example.org, bob@example.org"
git config -f ws/.xtrk/config stage.production.approvals 1
git config -f ws/.xtrk/config stage.production.role reviewer
as alice $W approve "$CLEAN" --stage production --rationale "meets the bar" >/dev/null
$W stage "$CLEAN" production -m "ship it" >/dev/null
$W note "$CLEAN" -m "reviewed by the team" >/dev/null

# kinds RUN: the kinds of finding for RUN, in order, space-separated.
kinds() {
	python3 -c '
import json, sys
d = json.load(open("r.json"))
print(" ".join(f["kind"] for f in d["findings"] if f["run"] == sys.argv[1]))' "$1"
}

check "each run'\''s gaps, one kind each; a complete run has none; exit 1 when anything is found" '
	expect_exit 1 $W review --json > r.json
	$W review --json > r.json || true
	expect_eq "$(json_get runs < r.json)" 7
	expect_eq "$(kinds "$CLEAN")" ""
	expect_eq "$(kinds "$NOSEED")" "no-seed"
	expect_eq "$(kinds "$NOPROV")" "data-no-source"
	expect_eq "$(kinds "$DIRTY")" "dirty-source"
	expect_eq "$(kinds "$UNCAPTURED")" "untracked-files"
	expect_eq "$(kinds "$SKIPPED")" "untracked-files"
	expect_contains "$(json_get findings < r.json)" "1 untracked file not captured"
	expect_eq "$(kinds "$STAGED")" ""
	expect_exit 1 xtrk -C nogit review
	expect_contains "$(xtrk -C nogit review || true)" "no-source: no source commit recorded"
	$W review > out || true
	expect_contains "$(cat out)" "${NOSEED:0:12} exp no-seed: no random seed recorded"
	expect_contains "$(cat out)" "${NOPROV:0:12} exp data-no-source: dataset '\''train'\'' has no recorded provenance"
	expect_contains "$(tail -n1 out)" "review: 7 runs, 5 findings"
'

check "--where chooses the runs, --ignore the kinds; nothing found is exit 0" '
	expect_exit 0 $W review --where "params.seed == 1 or seed == 1"
	expect_contains "$($W review --where "seed == 1")" "review: 1 run, 0 findings"
	expect_exit 0 $W review --ignore no-seed --ignore data-no-source --ignore dirty-source --ignore untracked-files
	expect_exit 1 $W review --where "seed == 3"
	expect_exit 0 $W review --where "seed == 3" --ignore dirty-source
	expect_contains "$($W review --where "experiment == \"nothing\"")" "review: 0 runs, 0 findings"
'

check "bad expressions, unknown kinds and arguments are usage errors" '
	expect_exit 2 $W review --where "seed =="
	expect_exit 2 $W review --where "(((("
	expect_exit 2 $W review --ignore no-such-kind
	expect_contains "$($W review --ignore "$(printf "x\033[2J")" 2>&1 || true)" "is not a kind of finding"
	expect_exit 2 $W review extra
'

check "a staged run needs a note and a valid approval for its stage; archived needs neither" '
	$W stage "$STAGED" staging >/dev/null
	$W review --json > r.json || true
	expect_eq "$(kinds "$STAGED")" "staged-no-note staged-no-approval"
	$W note "$STAGED" -m "ready for staging" >/dev/null
	as bob $W approve "$STAGED" --stage candidate --rationale "for another stage" >/dev/null
	$W review --json > r.json || true
	expect_eq "$(kinds "$STAGED")" "staged-no-approval"
	as bob $W approve "$STAGED" --stage staging --rationale "fine for staging" >/dev/null
	$W review --json > r.json || true
	expect_eq "$(kinds "$STAGED")" ""
	$W stage "$NOSEED" archived >/dev/null
	$W review --json > r.json || true
	expect_eq "$(kinds "$NOSEED")" "no-seed"
'

check "an approval forged after signing, or by a signer no longer allowed, does not count" '
	$W stage "$DIRTY" staging -m "try" >/dev/null
	$W note "$DIRTY" -m "a note" >/dev/null
	as alice $W approve "$DIRTY" --stage production --rationale "for production only" >/dev/null
	# alice'\''s approval copied with its stage changed to staging: the signature no longer covers it
	$W show --json "$DIRTY" | python3 -c "
import json, sys
a = [s for s in json.load(sys.stdin)[\"stages\"] if s[\"type\"] == \"approval\"][-1]
for k in (\"id\", \"verified\", \"problem\"):
    a.pop(k, None)
a[\"stage\"] = \"staging\"
sys.stdout.write(json.dumps(a, sort_keys=True, separators=(\",\", \":\")))" > forged.json
	F=$($W hash-object -w forged.json)
	echo "$F" > "ws/.xtrk/refs/stages/$DIRTY/$F"
	expect_eq "$($W show --json "$DIRTY" | python3 -c "import json,sys; print([s[\"verified\"] for s in json.load(sys.stdin)[\"stages\"] if s[\"id\"] == \"$F\"][0])")" False
	$W review --json > r.json || true
	expect_eq "$(kinds "$DIRTY")" "dirty-source staged-no-approval"
	# bob signs for staging, then leaves allowed_signers
	as bob $W approve "$DIRTY" --stage staging --rationale "bob says yes" >/dev/null
	$W review --json > r.json || true
	expect_eq "$(kinds "$DIRTY")" "dirty-source"
	cp ws/.xtrk/allowed_signers signers.bak
	grep -v bob signers.bak > ws/.xtrk/allowed_signers
	$W review --json > r.json || true
	expect_eq "$(kinds "$DIRTY")" "dirty-source staged-no-approval"
	cp signers.bak ws/.xtrk/allowed_signers
'

check "today'\''s policy applied again: two approvals now needed, then a require the run fails" '
	$W review --json > r.json || true
	expect_eq "$(kinds "$CLEAN")" ""
	git config -f ws/.xtrk/config stage.production.approvals 2
	$W review --json > r.json || true
	expect_eq "$(kinds "$CLEAN")" "policy"
	expect_contains "$(json_get findings < r.json)" "in stage '\''production'\'' but fails its policy today: stage '\''production'\'' needs 2 approvals from role '\''reviewer'\''; run ${CLEAN:0:12} has 1 valid (alice@example.org)"
	as bob $W approve "$CLEAN" --stage production --rationale "agreed" >/dev/null
	$W review --json > r.json || true
	expect_eq "$(kinds "$CLEAN")" ""
	git config -f ws/.xtrk/config stage.production.require "metrics.acc >= 0.95"
	$W review --json > r.json || true
	expect_eq "$(kinds "$CLEAN")" "policy"
	expect_contains "$(json_get findings < r.json)" "does not meet stage '\''production'\'' require: metrics.acc >= 0.95"
	git config -f ws/.xtrk/config stage.production.require "metrics.acc >="
	expect_exit 2 $W review
	expect_contains "$($W review 2>&1 || true)" "stage.production.require in .xtrk/config"
	git config -f ws/.xtrk/config --unset stage.production.require
'

check "bash completion knows review, its options and the kinds of finding" '
	bash -ec "
		. \"$XTRK_TEST_SRCDIR/contrib/completion/xtrk.bash\"
		cd ws
		c() { COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _xtrk \"$XTRK_BIN\" || return 1; echo \"\${COMPREPLY[*]}\"; }
		test \"\$(c xtrk revi)\" = review
		test \"\$(c xtrk review --ign)\" = --ignore
		test \"\$(c xtrk review --ignore staged)\" = \"staged-no-note staged-no-approval\"
	"
'

finish
