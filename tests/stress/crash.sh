#!/bin/sh
# SIGKILL at random moments during commit-run, checkout, bundle import and push, and at each store
# operation of an import and a push (through the fault shim). After every kill: fsck clean, every
# run reported as committed present, no half-written file under its final name.
#
#   XTRK_STRESS=quick|full   rounds per command (4 or 60) and kill points (a sample, or all)
. "$(dirname "$0")/../cli/lib.sh"

STRESS=${XTRK_STRESS:-quick}
ROUNDS=4
[ "$STRESS" = full ] && ROUNDS=60
export XTRK_LOCK_TIMEOUT_MS=200   # a kill can leave a ref's .lock behind, as git leaves index.lock
pause() { sleep "0.$(printf '%03d' $(( $(od -An -N2 -tu2 /dev/urandom) % ${1:-300} )))"; }
# killed MS CMD...: run CMD in the background, kill it after 0 to MS-1 ms; 0 when it was still running.
killed() { ms=$1; shift; "$@" > "$TRASH/last.out" 2>/dev/null & pid=$!; pause $ms
	if kill -9 $pid 2>/dev/null; then wait $pid 2>/dev/null; return 0; fi; wait $pid 2>/dev/null; return 1; }

mkdir src && cd src
new_git_repo
new_ws
mkdir data && i=0; while [ $i -lt 200 ]; do head -c 2000 /dev/urandom > data/f$i; i=$((i+1)); done
base=$(xtrk commit-run -e base -d data -m "before the storm" 2>/dev/null)
echo $base > "$TRASH/committed"
kills=0 total_kills=0 problems=0
note() { problems=$((problems + 1)); echo "# $*"; }
# fsck_clean WHAT [-C STORE]: fsck, its first lines in the note when it is not clean.
fsck_clean() { what=$1; shift
	xtrk "$@" fsck -q > "$TRASH/fsck.out" 2>&1 || note "$what: fsck: $(head -5 "$TRASH/fsck.out" | tr "\n" " ")"; }

# ---- commit-run ----
r=0
while [ $r -lt $ROUNDS ]; do
	r=$((r + 1))
	head -c 16000000 /dev/urandom > model.bin
	head -c 2000 /dev/urandom > data/f$((r % 200))
	if killed 300 "$XTRK_BIN" commit-run -e crash -p round=$r -d data --model model.bin; then kills=$((kills + 1)); fi
	[ -s "$TRASH/last.out" ] && cat "$TRASH/last.out" >> "$TRASH/committed"
	fsck_clean "commit-run round $r"
done
for id in $(cat "$TRASH/committed"); do xtrk show --json $id >/dev/null || note "committed run $id missing"; done
xtrk fsck --read-data -q > "$TRASH/fsck.out" 2>&1 || note "commit-run: fsck --read-data: $(head -5 "$TRASH/fsck.out" | tr "\n" " ")"
echo "# figure: crash.commit-run: $kills of $ROUNDS commit-runs of a 16 MB model killed midway, all survived"
total_kills=$((total_kills + kills))

# ---- checkout ----
head -c 16000000 /dev/urandom > model.bin
run=$(xtrk commit-run -e co -d data --model model.bin 2>/dev/null)
find data -type f -exec xxhsum -H2 {} + > "$TRASH/want"
xxhsum -H2 model.bin >> "$TRASH/want"
kills=0 r=0
while [ $r -lt $ROUNDS ]; do
	r=$((r + 1))
	rm -rf "$TRASH/co"
	if killed 60 "$XTRK_BIN" checkout $run -C "$TRASH/co"; then kills=$((kills + 1)); fi
	# Whatever is there under a final name is whole.
	while read -r h p; do
		[ -f "$TRASH/co/$p" ] || continue
		[ "$(xxhsum -H2 "$TRASH/co/$p" | cut -d' ' -f1)" = "$h" ] || echo "# checkout round $r: $p is partial" >> "$TRASH/partial"
	done < "$TRASH/want"
done
[ ! -s "$TRASH/partial" ] || { cat "$TRASH/partial"; problems=$((problems + 1)); }
# A killed checkout leaves a non-empty folder: finishing it over that folder takes --force.
xtrk checkout --force $run -C "$TRASH/co" >/dev/null 2>&1 || note "checkout after kills failed"
cmp "$TRASH/co/model.bin" model.bin || note "checkout after kills: model differs"
echo "# figure: crash.checkout: $kills of $ROUNDS checkouts killed midway; no partial file under a final name"
total_kills=$((total_kills + kills))

# ---- bundle import ----
xtrk bundle create -o "$TRASH/b.tar" -e crash -e co 2>/dev/null || xtrk bundle create -o "$TRASH/b.tar" -e co 2>/dev/null
cd "$TRASH" && mkdir dst && cd dst && new_ws
kills=0 r=0
while [ $r -lt $ROUNDS ]; do
	r=$((r + 1))
	rm -rf .xtrk && new_ws
	if killed 150 "$XTRK_BIN" bundle import "$TRASH/b.tar"; then kills=$((kills + 1)); fi
	fsck_clean "import round $r"
	for id in $(ls .xtrk/refs/experiments/*/ 2>/dev/null | grep -E '^[0-9a-f]{32}$'); do
		xtrk show --json $id >/dev/null || note "import round $r: run $id not whole"
	done
done
echo "# figure: crash.import: $kills of $ROUNDS bundle imports killed midway; every run present is whole"
total_kills=$((total_kills + kills))

# ---- push ----
# A push after a killed one completes it. A kill between taking a ref's lock and renaming it
# leaves the lock, as git leaves index.lock: the next push must name it and change nothing, and
# once it is removed (as the message says) the push must complete and the remote be whole.
stale_locks=0
push_again() {
	tries=0
	until xtrk push r 2>"$TRASH/push.err"; do
		lock=$(sed -n "s/.*'\(.*\.lock\)' is locked by another xtrk process.*/\1/p" "$TRASH/push.err" | head -1)
		[ -n "$lock" ] && [ -f "$lock" ] && [ $tries -lt 8 ] || return 1
		rm -f "$lock"
		stale_locks=$((stale_locks + 1)) tries=$((tries + 1))
	done
	xtrk -C "$TRASH/shared/.xtrk" fsck --read-data -q >"$TRASH/push.fsck" 2>&1
}
cd "$TRASH/src"
kills=0 r=0
while [ $r -lt $ROUNDS ]; do
	r=$((r + 1))
	rm -rf "$TRASH/shared/.xtrk" && xtrk remote remove r 2>/dev/null || true
	xtrk remote add r "$TRASH/shared/.xtrk" 2>/dev/null
	if killed 150 "$XTRK_BIN" push r; then kills=$((kills + 1)); fi
	fsck_clean "push round $r: the remote" -C "$TRASH/shared/.xtrk"
done
push_again || note "push after kills: $(cat "$TRASH/push.err" "$TRASH/push.fsck" 2>/dev/null | tr "\n" " ")"
echo "# figure: crash.push: $kills of $ROUNDS pushes killed midway; the remote fsck-clean each time"
total_kills=$((total_kills + kills))

# ---- a kill at each store operation of an import and of a push ----
points=0
if [ -f "$SHIM" ]; then
	cd "$TRASH/dst" && rm -rf .xtrk && new_ws
	XTRK_TEST_COUNT=$TRASH/ipoints LD_PRELOAD=$SHIM xtrk bundle import "$TRASH/b.tar" >/dev/null 2>&1
	ni=$(wc -l < "$TRASH/ipoints")
	step=1; [ "$STRESS" = full ] || step=$(( ni / 8 + 1 ))
	n=1
	while [ $n -le $ni ]; do
		rm -rf .xtrk && new_ws
		XTRK_TEST_FAULT=kill:$n LD_PRELOAD=$SHIM xtrk bundle import "$TRASH/b.tar" >/dev/null 2>&1 || true
		fsck_clean "import killed at store op $n"
		points=$((points + 1)); n=$((n + step))
	done
	cd "$TRASH/src" && rm -rf "$TRASH/shared/.xtrk" && xtrk remote remove r && xtrk remote add r "$TRASH/shared/.xtrk" 2>/dev/null
	XTRK_TEST_COUNT=$TRASH/ppoints LD_PRELOAD=$SHIM xtrk push r >/dev/null 2>&1
	np=$(wc -l < "$TRASH/ppoints")
	step=1; [ "$STRESS" = full ] || step=$(( np / 8 + 1 ))
	n=1
	while [ $n -le $np ]; do
		rm -rf "$TRASH/shared/.xtrk" && xtrk remote remove r && xtrk remote add r "$TRASH/shared/.xtrk" 2>/dev/null
		XTRK_TEST_FAULT=kill:$n LD_PRELOAD=$SHIM xtrk push r >/dev/null 2>&1 || true
		fsck_clean "push killed at store op $n: the remote" -C "$TRASH/shared/.xtrk"
		push_again || note "push after a kill at store op $n: $(cat "$TRASH/push.err" "$TRASH/push.fsck" 2>/dev/null | tr "\n" " ")"
		points=$((points + 1)); n=$((n + step))
	done
	echo "# figure: crash.points: SIGKILL at $points store operations ($ni in an import, $np in a push; every ${step}th in quick mode), all survived"
fi
echo "# figure: crash.locks: $stale_locks ref locks left by kills, named by the next push and removed"
echo "# figure: crash.total: $((total_kills + points)) kills, $problems problems"
check "every kill survived: fsck clean, committed runs present, no partial file" '[ $problems -eq 0 ]'
check "the run from before is intact" '
	cd "$TRASH/src" && expect_eq "$(xtrk show --json base | json_get message)" "before the storm"'
finish
