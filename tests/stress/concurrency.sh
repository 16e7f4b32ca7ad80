#!/bin/sh
# 16 writers committing to one experiment at once, round after round, while readers run log and
# show throughout: every commit recorded, no reader ever sees an error or a partial record.
#
#   XTRK_STRESS=quick|full   rounds (1 or 10) of 16 writers making 2 or 5 commits each
. "$(dirname "$0")/../cli/lib.sh"

STRESS=${XTRK_STRESS:-quick}
ROUNDS=1 EACH=2
[ "$STRESS" = full ] && ROUNDS=10 EACH=5
WRITERS=16
new_git_repo
new_ws
mkdir data && echo shared > data/common

# A reader: log (JSON, parsed) and show of the experiment's newest run, until told to stop.
reader() {
	while [ ! -f "$TRASH/stop" ] && [ -d "$TRASH" ] && kill -0 $$ 2>/dev/null; do
		if out=$("$XTRK_BIN" log -e c --format json 2>/dev/null); then
			echo "$out" | python3 -c 'import json,sys; [r["id"] and r["params"]["w"] for r in json.load(sys.stdin)]' \
				2>>"$TRASH/bad" || echo "log: partial record" >> "$TRASH/bad"
		else
			echo "log: $out" >> "$TRASH/bad"
		fi
		if "$XTRK_BIN" log -e c -n 1 --format csv --columns id | sed -n 2p | grep -q .; then
			"$XTRK_BIN" show c --json >/dev/null 2>>"$TRASH/bad" || echo "show failed" >> "$TRASH/bad"
		fi
		echo x >> "$TRASH/reads"
	done
}
: > "$TRASH/bad"
: > "$TRASH/reads"
reader & r1=$!
reader & r2=$!
attempted=0
round=0
while [ $round -lt $ROUNDS ]; do
	round=$((round + 1))
	w=0
	pids=
	while [ $w -lt $WRITERS ]; do
		w=$((w + 1))
		( k=0; while [ $k -lt $EACH ]; do k=$((k + 1))
			head -c 50000 /dev/urandom > "$TRASH/m.$w"
			"$XTRK_BIN" commit-run -e c -p w=$w -p k=$k -p round=$round --model "$TRASH/m.$w" -d data \
				>> "$TRASH/ids.$w" 2>>"$TRASH/werr.$w" || echo "writer $w failed" >> "$TRASH/wfail"
		done ) &
		pids="$pids $!"
		attempted=$((attempted + EACH))
	done
	for p in $pids; do wait $p; done
done
# Readers keep going a little after the last write, so that some reads see the final state too.
while [ "$(wc -l < "$TRASH/reads" 2>/dev/null || echo 0)" -lt 6 ]; do sleep 0.1; done
touch "$TRASH/stop"
wait $r1 $r2
recorded=$(cat "$TRASH"/ids.* | sort -u | wc -l)
listed=$(xtrk log -e c --format csv --columns id | sed 1d | wc -l)
reads=$(wc -l < "$TRASH/reads")
echo "# figure: concurrency: $recorded of $attempted concurrent commits recorded ($WRITERS writers x $EACH commits x $ROUNDS rounds), $reads reads by 2 readers, $(wc -l < "$TRASH/bad") reader errors"
check "every writer succeeded" '[ ! -s "$TRASH/wfail" ] || { cat "$TRASH/wfail" "$TRASH"/werr.*; false; }'
check "every attempted commit is recorded and listed" '
	expect_eq $recorded $attempted
	expect_eq $listed $attempted
'
check "no reader saw an error or a partial record" '[ ! -s "$TRASH/bad" ] || { head -20 "$TRASH/bad"; false; }'
check "the store re-hashes clean" 'xtrk fsck --read-data'
finish
