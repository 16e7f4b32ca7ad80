#!/usr/bin/env bash
# gc of a big store: a store of RUNS runs of FILES small files each (2 + FILES objects a run: 100,000
# objects at the default 10,000 x 8), one pack a run as commit-run makes them, plus garbage (every
# tenth run written but never named, and 20 unreferenced 1 MiB blobs), all older than the grace
# period.  Measures commit-run latency in that store (many packs), then `xtrk gc --prune=now`
# (time, peak RSS, bytes reclaimed), a second gc with nothing to do, and commit-run latency after;
# side by side in each round with `git gc --prune=now` and `restic forget --prune` holding the same
# files (live ones referenced, garbage not), when those are installed.  Medians of the rounds.
# The store is made through the library (bench/mkgcstore), not by 10,000 commit-runs.
#
#   bench/gc.sh [--runs N] [--files F] [--rounds R] [--against OLD/xtrk] [--smoke]
#
# --against times another build (say, one from before a change) in the same rounds, each on its
# own copy of the store.  --smoke: 300 runs, one round, in seconds.
set -euo pipefail
RUNS=10000
FILES=8
ROUNDS=3
AGAINST=
TIMES=5
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--files) FILES=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--against) AGAINST=$2; shift 2 ;;
	--smoke) RUNS=300; ROUNDS=1; TIMES=3; shift ;;
	*) echo "usage: $0 [--runs N] [--files F] [--rounds R] [--against OLD/xtrk] [--smoke]" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
XTRK=${XTRK:-$here/xtrk}
make -C "$here" -s bench/mkgcstore >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-bench-gc.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@x

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
med() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# timed LOG CMD...: run it, append "seconds peakKiB" to LOG
timed() { local log=$1; shift; /usr/bin/time -f "%e %M" -o "$WORK/.t" "$@" >/dev/null 2>"$WORK/.err" || { cat "$WORK/.err" >&2; return 1; }; cat "$WORK/.t" >> "$log"; }
bytes() { du -sb "$1" | cut -f1; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
col() { awk -v c="$2" '{print $c}' "$1" | med; }
# latency BIN DIR: median ms of TIMES commit-runs of a small new file in DIR
latency() { (cd "$2" && for i in $(seq "$TIMES"); do echo "$RANDOM $i" > lat.txt; ms "$1" commit-run -e lat -d lat.txt; done | med); }
old3w() { find "$@" -type f -exec touch -d '3 weeks ago' {} +; }

# The store, and the same files as plain files for the other tools.
mkdir "$WORK/ws" && cd "$WORK/ws"
git init -q . && git commit -q --allow-empty -m init
"$XTRK" init -q && git config -f .xtrk/config capture.python false
"$XTRK" commit-run -e t -p lr=0.1 >/dev/null 2>&1
"$XTRK" show t --json > "$WORK/template.json"
t0=$(date +%s%N)
"$here/bench/mkgcstore" "$WORK/ws" "$WORK/template.json" "$RUNS" "$FILES" 1 10 20 "$WORK/files" >&2
t1=$(date +%s%N)
old3w .xtrk/objects
packs=$(ls .xtrk/objects/pack | grep -c '\.pack$')
loose=$(find .xtrk/objects -path '*/pack' -prune -o -path '*/tmp' -prune -o -type f -name '[0-9a-f]*' -print | wc -l)
objs=$(( RUNS * (FILES + 2) + 20 ))
sbytes=$(bytes .xtrk/objects)
echo "store: $RUNS runs ($((RUNS / 10)) unnamed), $objs objects in $packs packs and $loose loose objects, $(mib "$sbytes") MiB; made in $(( (t1 - t0) / 1000000000 )) s" >&2

# git: live files committed, garbage written as unreferenced objects.
have_git=1
# (No automatic gc while setting up: it would pack and prune in the background and hold the gc lock.)
mkdir "$WORK/git" && cd "$WORK/git" && git init -q . && git config gc.auto 0 && cp -r "$WORK/files/live" . &&
	git add -A && git commit -qm live &&
	find "$WORK/files/garbage" -type f | git hash-object -w --stdin-paths >/dev/null && old3w .git/objects || have_git=0
# restic: live files and garbage in two snapshots; the garbage snapshot is forgotten and pruned.
have_restic=0
if ! command -v restic >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q restic >/dev/null 2>&1 || true
fi
if command -v restic >/dev/null; then
	export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$WORK/restic-cache
	restic init -q -r "$WORK/restic" >/dev/null && restic backup -q -r "$WORK/restic" "$WORK/files/live" >/dev/null &&
		restic backup -q -r "$WORK/restic" --tag garbage "$WORK/files/garbage" >/dev/null && have_restic=1
	garbage_snap=$(restic snapshots -q -r "$WORK/restic" --tag garbage --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["short_id"])')
else
	echo "restic is not installed (and could not be): its column is left out" >&2
fi

: > "$WORK/gc.log"; : > "$WORK/gc2.log"; : > "$WORK/old.log"; : > "$WORK/git.log"; : > "$WORK/restic.log"
: > "$WORK/lat.log"; : > "$WORK/latold.log"; : > "$WORK/latafter.log"; : > "$WORK/rec.log"
for r in $(seq "$ROUNDS"); do
	rm -rf "$WORK/g" && cp -a "$WORK/ws" "$WORK/g" && sync
	latency "$XTRK" "$WORK/g" >> "$WORK/lat.log"
	[ -z "$AGAINST" ] || latency "$AGAINST" "$WORK/g" >> "$WORK/latold.log"
	rm -rf "$WORK/g" && cp -a "$WORK/ws" "$WORK/g" && sync
	b0=$(bytes "$WORK/g/.xtrk/objects")
	(cd "$WORK/g" && timed "$WORK/gc.log" "$XTRK" gc --prune=now)
	b1=$(bytes "$WORK/g/.xtrk/objects")
	echo "$((b0 - b1)) $(ls "$WORK/g/.xtrk/objects/pack" | grep -c '\.pack$')" >> "$WORK/rec.log"
	(cd "$WORK/g" && timed "$WORK/gc2.log" "$XTRK" gc --prune=now)
	latency "$XTRK" "$WORK/g" >> "$WORK/latafter.log"
	(cd "$WORK/g" && "$XTRK" fsck >/dev/null 2>&1)
	if [ -n "$AGAINST" ]; then
		rm -rf "$WORK/g" && cp -a "$WORK/ws" "$WORK/g" && sync
		(cd "$WORK/g" && timed "$WORK/old.log" "$AGAINST" gc --prune=now)
	fi
	if [ $have_git = 1 ]; then
		rm -rf "$WORK/g" && cp -a "$WORK/git" "$WORK/g" && sync
		b0=$(bytes "$WORK/g/.git/objects")
		(cd "$WORK/g" && timed "$WORK/git.log" git gc --prune=now --quiet)
		echo "$((b0 - $(bytes "$WORK/g/.git/objects"))) $b0 $(bytes "$WORK/g/.git/objects")" >> "$WORK/git.rec"
	fi
	if [ $have_restic = 1 ]; then
		rm -rf "$WORK/g" && cp -a "$WORK/restic" "$WORK/g" && sync
		b0=$(bytes "$WORK/g")
		timed "$WORK/restic.log" restic forget -q -r "$WORK/g" --prune "$garbage_snap"
		echo "$((b0 - $(bytes "$WORK/g"))) $b0 $(bytes "$WORK/g")" >> "$WORK/restic.rec"
	fi
	rm -rf "$WORK/g"
done

gb=$(bytes "$WORK/files/garbage")
echo "garbage: $(mib "$gb") MiB of file content ($((RUNS / 10)) unnamed runs of $FILES files, 20 blobs of 1 MiB); $ROUNDS rounds, medians"
echo
echo "| work | median s | peak MiB | reclaimed MiB | after |"
echo "| --- | ---: | ---: | ---: | --- |"
echo "| xtrk gc --prune=now, $packs packs | $(col "$WORK/gc.log" 1) | $(mib $(( $(col "$WORK/gc.log" 2) * 1024 ))) | $(mib "$(col "$WORK/rec.log" 1)") | $(col "$WORK/rec.log" 2) pack(s), fsck clean |"
[ -z "$AGAINST" ] || echo "| $AGAINST gc --prune=now | $(col "$WORK/old.log" 1) | $(mib $(( $(col "$WORK/old.log" 2) * 1024 ))) | | |"
echo "| xtrk gc again (nothing to remove) | $(col "$WORK/gc2.log" 1) | $(mib $(( $(col "$WORK/gc2.log" 2) * 1024 ))) | | |"
[ $have_git = 0 ] || echo "| git gc --prune=now (live committed, garbage loose; packs all) | $(col "$WORK/git.log" 1) | $(mib $(( $(col "$WORK/git.log" 2) * 1024 ))) | $(mib "$(col "$WORK/git.rec" 1)") | $(mib "$(col "$WORK/git.rec" 2)") -> $(mib "$(col "$WORK/git.rec" 3)") MiB |"
[ $have_restic = 0 ] || echo "| restic forget --prune (garbage snapshot) | $(col "$WORK/restic.log" 1) | $(mib $(( $(col "$WORK/restic.log" 2) * 1024 ))) | $(mib "$(col "$WORK/restic.rec" 1)") | $(mib "$(col "$WORK/restic.rec" 2)") -> $(mib "$(col "$WORK/restic.rec" 3)") MiB |"
echo
echo "| commit-run of a small file | median ms |"
echo "| --- | ---: |"
echo "| in the store of $packs packs, before gc | $(med < "$WORK/lat.log") |"
[ -z "$AGAINST" ] || echo "| same, $AGAINST | $(med < "$WORK/latold.log") |"
echo "| after gc | $(med < "$WORK/latafter.log") |"
