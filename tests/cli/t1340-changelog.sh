#!/bin/sh
# xtrk changelog: every version of a model across runs, oldest first, with what changed (content,
# metrics), the run's stage moves, approvals (signed with real ed25519 keys, verified) and notes;
# a name by --model name or by path; removed runs left out; bad names refused.
. "$(dirname "$0")/lib.sh"

. "$XTRK_TEST_SRCDIR/tests/helpers/signers.sh"
people alice bob

mkdir ws && cd ws
new_ws
newest() { xtrk log --format json | json_get 0.id; }
echo "weights v1" > model.pt
xtrk commit-run -e exp --metric acc=0.8 --metric loss=0.5 --model clf=model.pt --note "the baseline" >/dev/null 2>&1
V1=$(newest)
echo "weights v2" > model.pt
xtrk commit-run -e exp --metric acc=0.9 --metric f1=0.7 --model clf=model.pt -m "more data" >/dev/null 2>&1
V2=$(newest)
echo "other" > other.bin
xtrk commit-run -e exp --metric acc=0.1 --model other=other.bin >/dev/null 2>&1
echo "weights v1" > model.pt
xtrk commit-run -e exp2 --metric acc=0.85 --metric f1=0.7 --model model.pt >/dev/null 2>&1
V3=$(newest)
echo "weights v4" > model.pt
xtrk commit-run -e exp --metric acc=0.99 --model clf=model.pt >/dev/null 2>&1
GONE=$(newest)
xtrk rm "$GONE" >/dev/null 2>&1
cd "$TRASH"
signers alice bob > ws/.xtrk/allowed_signers
W="xtrk -C ws"
$W stage "$V2" staging -m "try it on staging" >/dev/null
as alice $W approve "$V2" --stage production --rationale "meets the bar" --criteria "acc >= 0.9" \
	--mitigation "watch drift weekly" >/dev/null
$W stage "$V2" production -m "ship it" >/dev/null
$W note "$V2" -m "shipped on Monday" >/dev/null

check "every version, oldest first, by --model name and by path; removed runs left out" '
	$W changelog clf > out
	expect_contains "$(head -n1 out)" "model clf: 2 versions"
	expect_eq "$(grep "^version" out | cut -d" " -f2,5)" "1 ${V1:0:12}
2 ${V2:0:12}"
	expect_not_contains "$(cat out)" "${GONE:0:12}"
	# by path: the runs that named it clf, and the one that named it by its path
	$W changelog model.pt > out
	expect_eq "$(grep "^version" out | cut -d" " -f2,5)" "1 ${V1:0:12}
2 ${V2:0:12}
3 ${V3:0:12}"
	expect_eq "$($W changelog model.pt --json | json_get versions.2.experiment)" exp2
	expect_eq "$($W changelog other --json | json_get versions.0.model.path)" other.bin
'

check "what changed: the model'\''s content and the metrics against the previous version" '
	$W changelog model.pt --json > c.json
	expect_eq "$(json_get versions.0.changed < c.json)" true
	expect_eq "$(json_get versions.0.metrics.acc < c.json)" "{\"now\": 0.8, \"was\": null}"
	expect_eq "$(json_get versions.1.changed < c.json)" true
	expect_eq "$(json_get versions.1.metrics.acc.was < c.json)" 0.8
	expect_eq "$(json_get versions.1.metrics.acc.now < c.json)" 0.9
	python3 -c "import json,sys; d=json.load(open(\"c.json\"))[\"versions\"][1][\"metrics\"][\"acc\"][\"delta\"]; assert abs(d - 0.1) < 1e-9, d"
	expect_eq "$(json_get versions.1.metrics.loss < c.json)" "{\"now\": null, \"was\": 0.5}"
	expect_eq "$(json_get versions.1.metrics.f1 < c.json)" "{\"now\": 0.7, \"was\": null}"
	# v3: the same bytes as v1, f1 unchanged and so not listed
	expect_eq "$(json_get versions.2.same_as < c.json)" 1
	expect_eq "$(json_get versions.2.changed < c.json)" true
	expect_eq "$(python3 -c "import json; print(\" \".join(sorted(json.load(open(\"c.json\"))[\"versions\"][2][\"metrics\"])))")" "acc"
	expect_eq "$(json_get versions.1.model.id < c.json)" "$($W show --json "$V2" | json_get models.0.id)"
	$W changelog model.pt > out
	expect_contains "$(cat out)" "metric acc: 0.8 -> 0.9 (+0.1)"
	expect_contains "$(cat out)" "metric loss: 0.5 -> -"
	expect_contains "$(cat out)" "(the same as version 1)"
'

check "stage moves, approvals with their rationale, criteria and mitigation, notes and messages" '
	$W changelog clf --json > c.json
	expect_eq "$(json_get versions.0.run_notes.0 < c.json)" "the baseline"
	expect_eq "$(json_get versions.1.message < c.json)" "more data"
	expect_eq "$(json_get versions.1.stages.0.stage < c.json)" staging
	expect_eq "$(json_get versions.1.stages.0.message < c.json)" "try it on staging"
	expect_eq "$(json_get versions.1.stages.1.type < c.json)" approval
	expect_eq "$(json_get versions.1.stages.1.rationale < c.json)" "meets the bar"
	expect_eq "$(json_get versions.1.stages.1.verified < c.json)" true
	expect_eq "$(json_get versions.1.stages.2.stage < c.json)" production
	expect_eq "$(json_get versions.1.notes.0.text < c.json)" "shipped on Monday"
	$W changelog clf > out
	expect_contains "$(cat out)" "moved to staging by Test User <test@example.com>: try it on staging"
	expect_contains "$(cat out)" "approved for production by alice@example.org (verified): meets the bar"
	expect_contains "$(cat out)" "criteria: acc >= 0.9"
	expect_contains "$(cat out)" "mitigation: watch drift weekly"
	expect_contains "$(cat out)" "note by Test User <test@example.com>: shipped on Monday"
	expect_contains "$(cat out)" "rationale: the baseline"
'

check "an approval whose signer is no longer allowed shows as not verified" '
	cp ws/.xtrk/allowed_signers signers.bak
	grep -v alice signers.bak > ws/.xtrk/allowed_signers
	expect_contains "$($W changelog clf)" "approved for production by alice@example.org (NOT VERIFIED): meets the bar"
	expect_eq "$($W changelog clf --json | json_get versions.1.stages.1.verified)" false
	cp signers.bak ws/.xtrk/allowed_signers
'

check "an unknown model is an error naming the models there are; bad names are usage errors" '
	expect_exit 1 $W changelog nope
	expect_contains "$($W changelog nope 2>&1 || true)" "models: model.pt, other, clf"
	expect_exit 1 $W changelog ../../etc/passwd
	expect_exit 2 $W changelog ""
	expect_exit 2 $W changelog "$(printf "clf\033[2J")"
	expect_exit 2 $W changelog "$(head -c 5000 /dev/zero | tr "\0" x)"
	expect_exit 2 $W changelog
	expect_exit 2 $W changelog clf other
'

check "bash completion knows changelog and the model names" '
	bash -ec "
		. \"$XTRK_TEST_SRCDIR/contrib/completion/xtrk.bash\"
		cd ws
		c() { COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _xtrk \"$XTRK_BIN\" || return 1; echo \"\${COMPREPLY[*]}\"; }
		test \"\$(c xtrk changel)\" = changelog
		test \"\$(c xtrk changelog cl)\" = clf
		test \"\$(c xtrk changelog ot)\" = other
	"
'

finish
