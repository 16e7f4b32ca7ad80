#!/bin/sh
# Hostile run records, kinds, folders and tags in bundles: each is refused by verify and import
# with the field named, and nothing changes; a store that holds a broken run still lists the
# others, names the broken one, and `xtrk rm` removes it (reversibly).
. "$(dirname "$0")/lib.sh"

mk() { python3 "$XTRK_TEST_SRCDIR/tests/helpers/mkbundle.py" good.tar "$@"; }

mkdir origin && cd origin
new_git_repo
new_ws
mkdir data && echo a > data/a && echo b > data/b && head -c 4000 /dev/urandom > model.bin
xtrk commit-run -e exp -d data --model model.bin -p lr=0.1 >/dev/null
xtrk bundle create -o ../good.tar exp 2>/dev/null
cd "$TRASH"
mkdir victim && cd victim && new_ws && cd "$TRASH"
xtrk -C victim bundle import good.tar 2>/dev/null
before=$(store_listing victim)

# refused CASE MESSAGE [ARG]: verify exits 3 naming MESSAGE; import exits 1 naming it; nothing changed.
refused() {
	case_name=$1 msg=$2 arg=${3:-}
	out=h-$case_name.tar
	mk "$case_name" "$out" "$arg"
	set +e
	xtrk bundle verify "$out" > verify.out 2>&1; vrc=$?
	xtrk -C victim bundle import "$out" > import.out 2>&1; irc=$?
	set -e
	[ $vrc -eq 3 ] || { echo "verify exit $vrc"; cat verify.out; return 1; }
	expect_contains "$(cat verify.out)" "$msg"
	expect_eq $irc 1
	expect_contains "$(cat import.out)" "$msg"
	expect_eq "$(store_listing victim)" "$before"
	xtrk -C victim log >/dev/null
}

check "run records: 'started' missing, a number, null, garbage, not UTC, impossible" '
	refused record-del "'"'"'started'"'"' is missing" started
	refused record-set "'"'"'started'"'"'" "started=5"
	refused record-set "'"'"'started'"'"'" "started=null"
	refused record-set "'"'"'started'"'"'" "started=\"last tuesday\""
	refused record-set "'"'"'started'"'"'" "started=\"2026-01-01T00:00:00\""
	refused record-set "'"'"'started'"'"'" "started=\"2026-13-45T99:00:00Z\""
	refused record-set "'"'"'ended'"'"'" "ended=[]"
'
check "run records: status, parent, params, metrics and other value types" '
	refused record-set "'"'"'status'"'"'" "status=\"pwned\""
	refused record-del "'"'"'status'"'"' is missing" status
	refused record-set "'"'"'parent'"'"'" "parent=\"../../etc/passwd\""
	refused record-set "'"'"'parent'"'"'" "parent=\"deadbeef\""
	refused record-set "'"'"'parent'"'"'" "parent=7"
	refused record-set "'"'"'params'"'"'" "params=[1,2]"
	refused record-set "'"'"'metrics'"'"'" "metrics=\"acc=1\""
	refused record-set "'"'"'message'"'"'" "message={}"
	refused record-set "'"'"'exit_code'"'"'" "exit_code=\"0\""
	refused record-set "'"'"'command'"'"'" "command=\"rm -rf /\""
	refused record-set "'"'"'source.dirty'"'"'" "source.dirty=\"yes\""
	refused record-set "'"'"'datasets[0]'"'"'" "datasets.0.kind=\"run\""
	refused record-set "'"'"'experiment'"'"'" "experiment=\"../x\""
'
check "kind confusion: a blob that names a tree, a tree that names a blob" '
	refused kind-confusion "but is recorded as 4000" blob-is-tree
	refused kind-confusion "blob" tree-is-blob
	expect_contains "$(cat verify.out)" "is used as a tree"
'
check "folder entries are refused, whatever their name" '
	refused dir "folder" objects/
	refused dir "folder" runs/
	refused dir "folder" somewhere/
'
check "tags that could be taken for a run ID prefix are refused" '
	refused summary-tags "looks like a run ID" "[\"deadbeef\"]"
	refused summary-tags "looks like a run ID" "[\"2024\"]"
	id=$(xtrk -C victim log --format json | json_get 0.id)
	refused summary-tags "looks like a run ID" "[\"$(echo $id | cut -c1-12)\"]"
	refused summary-tags "looks like a run ID" "[\"ABCDEF0123\"]"
	# a tag with a non-hex letter is fine
	mk summary-tags ok-tag.tar "[\"best-2024\"]"
	xtrk bundle verify ok-tag.tar 2>err
	expect_contains "$(cat err)" "0 problems"
'
hex_tags_pull() {
	cd origin
	xtrk remote add shared "$TRASH/shared" 2>/dev/null
	xtrk push shared 2>/dev/null
	id=$(xtrk log --format json | json_get 0.id)
	echo "$id" > "$TRASH/shared/refs/tags/cafe"
	echo "$id" > "$TRASH/shared/refs/tags/best"
	cd "$TRASH" && mkdir puller && cd puller && new_ws
	xtrk remote add shared "$TRASH/shared" 2>/dev/null
	xtrk pull shared 2>err
	expect_contains "$(cat err)" "tag 'cafe'"
	expect_contains "$(cat err)" "left behind: not a valid tag name"
	test ! -e .xtrk/refs/tags/cafe
	test -e .xtrk/refs/tags/best
}
check "pull leaves out a remote's tags that could be taken for a run ID prefix" 'hex_tags_pull'

# Importing 5,000 tags: the syncs do not grow with the number of tags (counted by the fault
# shim, which sees fsync calls: the old way made two per tag), and the time is printed beside
# that of creating 5,000 files the same way (lock file, rename) on this file system.
many_tags() {
	[ -f "$SHIM" ] || skip "the fault shim was not built"
	python3 -c 'import json; print(json.dumps(["t%d" % i for i in range(5000)]))' > tags.json
	mk summary-tags many-tags.tar "$(cat tags.json)"
	mkdir t5k && (cd t5k && new_ws)
	python3 - "$XTRK_BIN" "$SHIM" "$TRASH/syncs" > times <<-'EOF'
		import os, subprocess, sys, time
		os.mkdir("files")
		t = time.time()
		for i in range(5000):
		    fd = os.open("files/t%d.lock" % i, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
		    os.write(fd, b"0" * 33)
		    os.close(fd)
		    os.rename("files/t%d.lock" % i, "files/t%d" % i)
		base = time.time() - t
		t = time.time()
		env = dict(os.environ, LD_PRELOAD=sys.argv[2], XTRK_TEST_COUNT=sys.argv[3])
		subprocess.run([sys.argv[1], "-C", "t5k", "bundle", "import", "many-tags.tar"], check=True,
		               stdout=subprocess.DEVNULL, env=env)
		print("%.2f %.2f" % (base, time.time() - t))
	EOF
	read base took < times
	echo "creating 5,000 files: $base s; importing 5,000 tags: $took s; $(grep -c fsync syncs) fsync calls"
	[ "$(grep -c fsync syncs)" -lt 100 ]
	expect_eq "$(ls t5k/.xtrk/refs/tags | wc -l)" 5000
	expect_eq "$(ls t5k/.xtrk/refs/tags | grep -c lock)" 0
	expect_eq "$(cat t5k/.xtrk/refs/tags/t4999)" "$(cat t5k/.xtrk/refs/experiments/exp/*)"
	xtrk -C t5k fsck -q
}
check "5,000 tags import with a few syncs, not two per tag" 'many_tags'

# ran_bounded SECONDS MIB CMD...: CMD ends within SECONDS and its peak memory stays under MIB.
ran_bounded() {
	python3 - "$@" <<-'EOF'
		import resource, subprocess, sys, time
		secs, mib, cmd = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
		t = time.time()
		subprocess.run(cmd, stdout=open("bounded.out", "w"), stderr=subprocess.STDOUT)
		took, rss = time.time() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss >> 10
		print("%.2f s, %d MiB" % (took, rss))
		sys.exit(0 if took <= secs and rss <= mib else 1)
	EOF
}
pack_bomb() {
	mk packbomb h-packbomb.tar 1024
	test $(wc -c < h-packbomb.tar) -lt 2000000
	ran_bounded 3 64 "$XTRK_BIN" bundle verify h-packbomb.tar
	expect_contains "$(cat bounded.out)" "refused before inflating"
	expect_contains "$(cat bounded.out)" "1073741824 bytes"
	ran_bounded 3 64 "$XTRK_BIN" -C victim bundle import h-packbomb.tar
	expect_contains "$(cat bounded.out)" "refused before inflating"
	expect_eq "$(store_listing victim)" "$before"
	# a 40 KiB bundle whose delta copies a 16 MiB blob into 1 GiB: refused once its first bytes are inflated
	mk deltabomb h-deltabomb.tar 1024
	ran_bounded 3 64 "$XTRK_BIN" bundle verify h-deltabomb.tar
	expect_contains "$(cat bounded.out)" "object 1 (delta result) declares 1073741760 bytes"
}
check "a source pack holding a 1 GiB blob of zeros (1 MiB packed) is refused at its header" 'pack_bomb'
real_pack() {
	mkdir hist && cd hist && new_git_repo
	for i in $(seq 1 20); do seq 1 $((2000 + i * 10)) > big.txt; echo $i >> big.txt; git add big.txt; git commit -qm c$i; done
	new_ws && xtrk commit-run -e hist >/dev/null && xtrk bundle create --with-source -o ../hist.tar -e hist 2>/dev/null
	cd .. && xtrk bundle verify hist.tar 2>err && expect_contains "$(cat err)" "0 problems"
	mkdir hv && (cd hv && new_ws && xtrk bundle import ../hist.tar >/dev/null)
}
check "a real source pack with deltas still verifies and imports" 'real_pack'
big_entry() {
	mk big-entry h-big.tar.gz 300
	ran_bounded 1 64 "$XTRK_BIN" bundle verify h-big.tar.gz
	expect_contains "$(cat bounded.out)" "larger than the limit"
	expect_contains "$(cat bounded.out)" "left unread"
}
check "verify does not inflate a refused entry to skip it (300 MiB of zeros in 300 KiB)" 'big_entry'

# A store that holds broken runs, planted behind the importer's back.
cd "$TRASH/victim"
good_id=$(xtrk log --format json | json_get 0.id)
printf "{\"experiment\":\"exp\",\"status\":\"succeeded\",\"started\":5}" > ../rec
bad_id=$(xtrk hash-object -w -t run ../rec)
echo "$bad_id" > .xtrk/refs/experiments/exp/$bad_id
gone_id=0123456789abcdef0123456789abcdef
echo "$gone_id" > .xtrk/refs/experiments/exp/$gone_id
cd "$TRASH"

check "log and export list the good runs and name the broken ones" '
	cd victim
	xtrk log > out 2> err
	expect_contains "$(cat out)" "$(echo $good_id | cut -c1-12)"
	expect_contains "$(cat err)" "run $bad_id: unreadable record"
	expect_contains "$(cat err)" "started"
	expect_contains "$(cat err)" "run $gone_id: object missing"
	xtrk export --format json > out 2> err
	expect_contains "$(cat out)" "$good_id"
	expect_not_contains "$(cat out)" "$bad_id"
	expect_contains "$(cat err)" "$bad_id"
	xtrk log --where "params.lr > 0" >/dev/null 2>&1
	xtrk show exp~0 >/dev/null 2>&1
'
check "show and fsck name a broken run; a missing object is not an unknown run" '
	cd victim
	expect_exit 1 xtrk show $gone_id 2>err
	expect_contains "$(cat err)" "object missing"
	expect_not_contains "$(cat err)" "unknown run"
	expect_exit 1 xtrk show $bad_id 2>err
	expect_contains "$(cat err)" "started"
	expect_exit 3 xtrk fsck >out 2>&1
	expect_contains "$(cat out)" "$bad_id"
	expect_contains "$(cat out)" "$gone_id"
'
check "rm removes broken runs (by ID or prefix); log, fsck are clean; rm --restore brings them back" '
	cd victim
	refs_before=$(cd .xtrk/refs && find . | sort)
	xtrk rm $bad_id $(echo $gone_id | cut -c1-8) > out
	expect_contains "$(cat out)" "removed run $bad_id"
	expect_contains "$(cat out)" "removed run $gone_id"
	xtrk log > out 2> err
	expect_eq "$(cat err)" ""
	xtrk fsck -q
	expect_contains "$(xtrk rm --list)" "$bad_id  exp"
	expect_exit 1 xtrk rm $bad_id 2>err
	expect_contains "$(cat err)" "already removed"
	xtrk rm --restore $bad_id $gone_id >/dev/null
	expect_eq "$(cd .xtrk/refs && find . | grep -v /removed | sort)" "$(echo "$refs_before" | grep -v /removed)"
	expect_eq "$(xtrk rm --list)" ""
	expect_exit 3 xtrk fsck -q >/dev/null 2>&1
	xtrk rm $bad_id $gone_id >/dev/null
'
check "rm of a good run: hidden from log, prefixes and exp~N, objects and tags kept, restored whole" '
	cd victim
	xtrk commit-run -e exp -p lr=0.2 -m second > /dev/null 2>&1 || xtrk commit-run -e exp -p lr=0.2 -m second
	second=$(xtrk log --format json -e exp | json_get 0.id)
	xtrk -C . show $second >/dev/null
	objects=$(store_listing | grep objects)
	(cd "$TRASH/origin" && true)
	echo "$second" > .xtrk/refs/tags/keep
	xtrk rm keep > out 2> err
	expect_contains "$(cat err)" "tags kept"
	expect_contains "$(cat err)" "keep"
	expect_not_contains "$(xtrk log)" "$(echo $second | cut -c1-12)"
	expect_exit 1 xtrk show $(echo $second | cut -c1-12) 2>/dev/null
	expect_eq "$(xtrk log --format json -e exp | json_get 0.id)" "$good_id"
	expect_eq "$(store_listing | grep objects)" "$objects"
	xtrk show keep | grep -q "second"
	xtrk rm --restore $(echo $second | cut -c1-6) >/dev/null
	expect_eq "$(xtrk log --format json -e exp | json_get 0.id)" "$second"
'
check "rm refuses experiment names, EXP~N, unknown runs and changes nothing then" '
	cd victim
	refs_before=$(cd .xtrk/refs && find . | sort)
	expect_exit 2 xtrk rm exp 2>err
	expect_contains "$(cat err)" "not experiments"
	expect_exit 2 xtrk rm exp~0 2>/dev/null
	expect_exit 1 xtrk rm $good_id ffffffff 2>/dev/null
	expect_exit 2 xtrk rm 2>/dev/null
	expect_exit 2 xtrk rm --list $good_id 2>/dev/null
	expect_exit 1 xtrk rm --restore $good_id 2>/dev/null
	expect_eq "$(cd .xtrk/refs && find . | sort)" "$refs_before"
'
finish
