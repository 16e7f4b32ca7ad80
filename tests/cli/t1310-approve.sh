#!/bin/sh
# xtrk approve: approvals signed with real ed25519 keys (ssh-keygen -Y sign) and verified against
# .xtrk/allowed_signers; a signer outside it, a key claiming another's address, approvals edited
# after signing; the [stage] policy of the config refusing a move, then allowing it; forged
# approvals refused by bundle import and pull with nothing changed.
. "$(dirname "$0")/lib.sh"

# Four people, each with a git identity and an ed25519 key; alice and bob and carol are allowed signers.
. "$XTRK_TEST_SRCDIR/tests/helpers/signers.sh"
people alice bob carol dave

mkdir ws && cd ws
new_ws
xtrk commit-run -e exp --metric acc=0.95 >/dev/null 2>&1
xtrk commit-run -e exp --metric acc=0.50 >/dev/null 2>&1
GOOD=$(xtrk log -e exp --format json | json_get 1.id)
WEAK=$(xtrk log -e exp --format json | json_get 0.id)
cd "$TRASH"
signers alice bob carol > ws/.xtrk/allowed_signers
W="xtrk -C ws"

# unchanged CODE CMD...: CMD exits CODE and the store is byte-identical afterwards.
unchanged() {
	code=$1; shift
	before=$(store_listing ws)
	expect_exit "$code" "$@"
	expect_eq "$(store_listing ws)" "$before"
}

# The approvals of RUN as "signer stage verified rationale" lines, oldest first.
approvals() {
	$W show --json "$1" | python3 -c '
import json, sys
for s in json.load(sys.stdin).get("stages", []):
    if s["type"] == "approval":
        print(s["signer"], s["stage"], s["verified"], s["rationale"])'
}

# forge RUN FIELD VALUE: a copy of the last approval of RUN with FIELD changed, stored and named
# by a ref as xtrk would (the form is exact; only the signature no longer covers it).
forge() {
	$W show --json "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)
a = [s for s in r["stages"] if s["type"] == "approval"][-1]
for k in ("id", "verified", "problem"):
    a.pop(k, None)
a[sys.argv[1]] = sys.argv[2]
sys.stdout.write(json.dumps(a, sort_keys=True, separators=(",", ":")))' "$2" "$3" > forged.json
	F=$($W hash-object -w forged.json)
	mkdir -p ws/.xtrk/refs/stages/"$1"
	echo "$F" > ws/.xtrk/refs/stages/"$1"/"$F"
}

check "a valid approval: signed with user.signingkey as user.email, verified in show, show --json, stage --list" '
	as alice $W approve $GOOD --stage production --rationale "meets the bar" --criteria "acc >= 0.9" \
		--mitigation "monitor drift" > out
	expect_contains "$(cat out)" "approved run ${GOOD:0:12} for stage production"
	expect_eq "$(approvals $GOOD)" "alice@example.org production True meets the bar"
	$W show --json $GOOD > s.json
	expect_eq "$(json_get stages.0.criteria < s.json)" "acc >= 0.9"
	expect_eq "$(json_get stages.0.mitigation < s.json)" "monitor drift"
	expect_contains "$(json_get stages.0.signature < s.json)" "BEGIN SSH SIGNATURE"
	expect_contains "$($W show $GOOD)" "approved: production  (alice@example.org, "
	expect_contains "$($W show $GOOD)" "signature valid): meets the bar"
	expect_contains "$($W stage --list)" "approved production by alice@example.org (signature valid): meets the bar"
	$W fsck -q
'

check "--key signs with another key file; the signature is checked by ssh-keygen -Y verify itself" '
	as bob $W approve $WEAK --stage staging --rationale "fine for staging" --key "$TRASH/bob/key"
	expect_eq "$(approvals $WEAK)" "bob@example.org staging True fine for staging"
	$W show --json $WEAK | python3 -c "import json,sys; a=json.load(sys.stdin)[\"stages\"][0]; s=a.pop(\"signature\"); [a.pop(k) for k in (\"id\",\"verified\")]; open(\"p\",\"w\").write(json.dumps(a,sort_keys=True,separators=(\",\",\":\"))); open(\"p.sig\",\"w\").write(s)"
	ssh-keygen -Y verify -f ws/.xtrk/allowed_signers -I bob@example.org -n xtrk -s p.sig < p
'

check "a signer outside allowed_signers: recorded, shown as not valid, never counted" '
	as dave $W approve $WEAK --stage staging --rationale "dave says yes"
	expect_contains "$(approvals $WEAK)" "dave@example.org staging False dave says yes"
	expect_contains "$($W show $WEAK)" "SIGNATURE NOT VALID): dave says yes"
	expect_contains "$($W show --json $WEAK | json_get stages.1.problem)" "does not verify"
'

check "a key claiming another person'\''s address (dave'\''s key, alice'\''s e-mail) does not verify" '
	cp "$TRASH/dave/.gitconfig" "$TRASH/dave/.gitconfig.real"
	git config -f "$TRASH/dave/.gitconfig" user.email alice@example.org
	as dave $W approve $WEAK --stage staging --rationale "I am alice"
	mv "$TRASH/dave/.gitconfig.real" "$TRASH/dave/.gitconfig"
	expect_contains "$(approvals $WEAK)" "alice@example.org staging False I am alice"
'

check "an approval edited after signing does not verify: rationale, stage, criteria, mitigation, signer, time" '
	as bob $W approve $GOOD --stage production --rationale "bob agrees"
	for edit in "rationale|bob strongly agrees" "stage|staging" "criteria|none" "mitigation|none" \
		"signer|alice@example.org" "time|2020-01-01T00:00:00.000000Z"; do
		forge $GOOD "${edit%%|*}" "${edit#*|}"
		$W show --json $GOOD > e.json
		python3 - e.json "$F" <<EOF
import json, sys
r = json.load(open(sys.argv[1]))
a = [s for s in r["stages"] if s["id"] == sys.argv[2]][0]
assert a["verified"] is False, a
assert "does not verify" in a["problem"], a
EOF
		rm ws/.xtrk/refs/stages/$GOOD/$F
	done
	expect_eq "$(approvals $GOOD)" "alice@example.org production True meets the bar
bob@example.org production True bob agrees"
'

check "approve refuses, changing nothing: no rationale, no stage, a bad stage, no key, a key ssh-keygen cannot use" '
	unchanged 2 as alice $W approve $GOOD --stage production
	unchanged 2 as alice $W approve $GOOD --rationale why
	unchanged 2 as alice $W approve $GOOD --stage "../x" --rationale why
	unchanged 2 as alice $W approve $GOOD --stage production --rationale "$(printf "esc\033[2J")"
	git config -f "$TRASH/carol/.gitconfig" --unset user.signingkey
	unchanged 2 as carol $W approve $GOOD --stage production --rationale why
	echo "not a key" > "$TRASH/badkey"
	unchanged 2 as carol $W approve $GOOD --stage production --rationale why --key "$TRASH/badkey"
	unchanged 2 as carol $W approve $GOOD --stage production --rationale why --key "$TRASH/nokey"
	git config -f "$TRASH/carol/.gitconfig" user.signingkey "$TRASH/carol/key"
'

check "policy: a move lacking approvals from the role, or failing require, is refused naming what is missing" '
	git config -f ws/.xtrk/config role.reviewer.members "alice@example.org, bob@example.org"
	git config -f ws/.xtrk/config stage.release.approvals 2
	git config -f ws/.xtrk/config stage.release.role reviewer
	git config -f ws/.xtrk/config stage.release.require "metrics.acc >= 0.9"
	as alice $W approve $GOOD --stage release --rationale "alice ok"
	as alice $W approve $GOOD --stage release --rationale "alice again"
	as carol $W approve $GOOD --stage release --rationale "carol is no reviewer"
	as dave $W approve $GOOD --stage release --rationale "dave is unknown"
	as bob $W approve $GOOD --stage production --rationale "another stage"
	unchanged 2 $W stage $GOOD release
	$W stage $GOOD release > err 2>&1 || true
	expect_contains "$(cat err)" "stage '\''release'\'' needs 2 approvals from role '\''reviewer'\''; run ${GOOD:0:12} has 1 valid (alice@example.org)"
	expect_contains "$(cat err)" "carol@example.org (not in role '\''reviewer'\'')"
	expect_contains "$(cat err)" "dave@example.org (not in role '\''reviewer'\'')"
	expect_not_contains "$(cat err)" "require"
'

check "policy: a forged approval from a role member is not counted (signature does not verify)" '
	as alice $W approve $GOOD --stage release --rationale "to be forged"
	forge $GOOD signer bob@example.org
	$W stage $GOOD release > err 2>&1 && { cat err; false; }
	expect_contains "$(cat err)" "bob@example.org (signature does not verify)"
	rm ws/.xtrk/refs/stages/$GOOD/$F
'

check "policy: the second valid approval from the role allows the move" '
	as bob $W approve $GOOD --stage release --rationale "bob ok"
	$W stage $GOOD release -m "two reviewers signed"
	expect_eq "$($W show --json $GOOD | json_get stage)" release
'

check "policy: enough approvals but failing require is refused, naming the expression" '
	as alice $W approve $WEAK --stage release --rationale a
	as bob $W approve $WEAK --stage release --rationale b
	unchanged 2 $W stage $WEAK release
	$W stage $WEAK release > err 2>&1 || true
	expect_contains "$(cat err)" "run ${WEAK:0:12} does not meet stage '\''release'\'' require: metrics.acc >= 0.9"
	expect_not_contains "$(cat err)" "approvals"
	$W stage $WEAK staging
'

check "policy: a role the config does not define, a bad approvals count, a bad require: refused" '
	cp -a ws pol
	git config -f pol/.xtrk/config stage.x.role nobody
	expect_exit 2 xtrk -C pol stage $GOOD x
	git config -f pol/.xtrk/config stage.y.approvals many
	expect_exit 2 xtrk -C pol stage $GOOD y
	git config -f pol/.xtrk/config stage.z.require "metrics.acc >="
	expect_exit 2 xtrk -C pol stage $GOOD z
	test ! -e pol/.xtrk/refs/stages/$GOOD/x
'

# ---- forged approvals travelling ----

# An origin holding only approvals alice and bob signed; victims that vouch for alice and bob.
cp -a ws origin
xtrk -C origin show --json $GOOD | python3 -c '
import json, os, sys
r = json.load(sys.stdin)
for s in r["stages"]:
    if s["type"] == "approval" and not s["verified"]:
        os.unlink("origin/.xtrk/refs/stages/%s/%s" % (r["id"], s["id"]))'
xtrk -C origin show --json $WEAK | python3 -c '
import json, os, sys
r = json.load(sys.stdin)
for s in r["stages"]:
    if s["type"] == "approval" and (not s["verified"] or s["signer"] not in ("alice@example.org", "bob@example.org")):
        os.unlink("origin/.xtrk/refs/stages/%s/%s" % (r["id"], s["id"]))'
xtrk -C origin show --json $GOOD | python3 -c '
import json, os, sys
r = json.load(sys.stdin)
for s in r["stages"]:
    if s["type"] == "approval" and s["signer"] not in ("alice@example.org", "bob@example.org"):
        os.unlink("origin/.xtrk/refs/stages/%s/%s" % (r["id"], s["id"]))'
xtrk -C origin bundle create -o "$TRASH/good.tar" -e exp >/dev/null 2>&1
$W bundle create -o "$TRASH/mixed.tar" -e exp >/dev/null 2>&1
xtrk init -q victim
signers alice bob > victim/.xtrk/allowed_signers

# bundle_forge CASE OUT: the good bundle with its first approval changed.
bundle_forge() {
	python3 - "$TRASH/good.tar" "$1" "$2" <<'EOF'
import io, json, subprocess, sys, tarfile
good, case, out = sys.argv[1:4]
with tarfile.open(good) as t:
    entries = [(m, t.extractfile(m).read() if m.isfile() else b"") for m in t.getmembers()]
i = next(i for i, (m, _) in enumerate(entries) if m.name == "xtrk-bundle.json")
man = json.loads(entries[i][1])
run = next(r for r in man["runs"] if any(s["type"] == "approval" and s["signer"] == "alice@example.org" for s in r.get("stages", [])))
a = next(s for s in run["stages"] if s["type"] == "approval" and s["signer"] == "alice@example.org")
if case == "edited":
    a["rationale"] = "forged rationale"
elif case == "stolen":
    a["signer"] = "bob@example.org"
elif case == "unhashed":
    a["rationale"] = "forged rationale"
if case != "unhashed":
    body = {k: v for k, v in a.items() if k != "id"}
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    a["id"] = subprocess.run(["xxhsum", "-H2", "-"], input=data, capture_output=True, check=True).stdout.split()[0].decode()
m = tarfile.TarInfo("xtrk-bundle.json")
data = json.dumps(man).encode()
m.size = len(data)
m.mode = 0o644
entries[i] = (m, data)
with tarfile.open(out, "w") as t:
    for m, d in entries:
        t.addfile(m, io.BytesIO(d) if m.isfile() else None)
EOF
}

check "a bundle carrying approvals imports where allowed_signers vouches for them; the policy counts them" '
	cp -a victim v0
	xtrk -C v0 bundle import "$TRASH/good.tar" >/dev/null 2>&1
	expect_eq "$(xtrk -C v0 show --json $GOOD | python3 -c "import json,sys; print(sorted({s[\"verified\"] for s in json.load(sys.stdin)[\"stages\"] if s[\"type\"]==\"approval\"}))")" "[True]"
	expect_eq "$(xtrk -C v0 show --json $GOOD | json_get stage)" release
	xtrk -C v0 fsck -q
'

check "a bundle carrying approvals by signers the store does not vouch for is refused, nothing changed" '
	before=$(store_listing victim)
	expect_exit 1 xtrk -C victim bundle import "$TRASH/mixed.tar" > imp.out 2>&1
	expect_contains "$(cat imp.out)" "does not verify"
	expect_eq "$(store_listing victim)" "$before"
'

check "bundles carrying a forged approval are refused at import with nothing changed (3 forgeries)" '
	command -v xxhsum >/dev/null || skip "xxhsum is not installed"
	before=$(store_listing victim)
	for case in edited stolen unhashed; do
		bundle_forge $case "$TRASH/forged-$case.tar"
		expect_exit 1 xtrk -C victim bundle import "$TRASH/forged-$case.tar" > imp.out 2>&1
		case $case in
		unhashed) expect_contains "$(cat imp.out)" "does not hash to its ID" ;;
		*) expect_contains "$(cat imp.out)" "does not verify" ;;
		esac
		expect_eq "$(store_listing victim)" "$before"
	done
	xtrk -C victim bundle import "$TRASH/good.tar" >/dev/null 2>&1
	xtrk -C victim fsck -q
'

check "pull refuses a forged approval on the remote before writing anything" '
	forge $GOOD rationale "forged on the way"
	$W remote add shared "$TRASH/remote" >/dev/null
	$W push --all shared >/dev/null 2>&1
	xtrk init -q puller
	signers alice bob carol dave > puller/.xtrk/allowed_signers
	xtrk -C puller remote add shared "$TRASH/remote" >/dev/null
	before=$(store_listing puller)
	expect_exit 1 xtrk -C puller pull shared > pull.out 2>&1
	expect_contains "$(cat pull.out)" "does not verify"
	expect_eq "$(store_listing puller)" "$before"
	expect_eq "$(xtrk -C puller log --format json)" "[]"
'

check "push refuses approvals a remote with allowed_signers does not vouch for, writing nothing there" '
	$W remote add strict "$TRASH/remote2" >/dev/null
	signers alice bob > remote2/allowed_signers
	before=$(cd remote2 && find . -type f ! -name "*.lock" ! -path "./objects/tmp/*" -printf "%p %s\n" | sort)
	expect_exit 1 $W push --all strict > push.out 2>&1
	expect_contains "$(cat push.out)" "does not verify"
	expect_eq "$(cd remote2 && find . -type f ! -name "*.lock" ! -path "./objects/tmp/*" -printf "%p %s\n" | sort)" "$before"
'

finish
