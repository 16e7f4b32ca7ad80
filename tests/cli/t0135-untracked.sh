#!/bin/sh
# Untracked files of the source: captured as content, limited by config, restored by checkout,
# carried by bundles, checked by fsck, compared by diff.
. "$(dirname "$0")/lib.sh"

ut() { json_get source.untracked_content; }
# hashes DIR FILE...: "xxh3 path" of each file below DIR, for byte-for-byte comparisons.
hashes() { (cd "$1" && shift && xxhsum -H2 "$@"); }

# Scratch files live in $S, outside the repository, so they are not untracked files themselves.
S=$TRASH/scratch
mkdir -p "$S" repo && cd repo
new_git_repo
printf '*.log\nignored/\n' > .gitignore
git add .gitignore && git commit -qm ignore
new_ws
echo "# uncommitted tweak" >> train.py
printf 'import itertools\nfor lr in (0.1, 0.01):\n    print(lr)\n' > sweep.py
mkdir -p data/nested
printf 'batch: 32\n' > data/config.yaml
head -c 600000 /dev/urandom > data/nested/weights.bin # stored loose
printf '#!/bin/sh\necho go\n' > go.sh && chmod +x go.sh
ln -s sweep.py latest.py
echo "noise" > train.log
mkdir ignored && echo secret > ignored/cache.txt
head -c 1500000 /dev/urandom > big.bin
cp train.py "$S/want-train.py"
hashes . sweep.py data/config.yaml data/nested/weights.bin go.sh > "$S/want-untracked"
run=$(xtrk commit-run -e sweep 2>"$S/err")
j=$(xtrk show --json $run)

check "untracked files are captured as a tree; the record counts them" '
	expect_eq "$(echo "$j" | ut | json_get files)" 5
	id=$(echo "$j" | ut | json_get id)
	expect_eq ${#id} 32
	xtrk cat-object $id > "$S/tree.txt"
	expect_contains "$(cat "$S/tree.txt")" "sweep.py"
	expect_contains "$(cat "$S/tree.txt")" "120000 link"
	expect_contains "$(cat "$S/tree.txt")" "100755 blob"
	expect_eq "$(echo "$j" | ut | json_get bytes)" \
		$(( $(stat -c %s sweep.py go.sh data/config.yaml data/nested/weights.bin | paste -sd+) + 8 ))
'
check "ignored files and the store are not captured" '
	xtrk cat-object $(echo "$j" | ut | json_get id) > "$S/tree.txt"
	expect_not_contains "$(cat "$S/tree.txt")" "train.log"
	expect_not_contains "$(cat "$S/tree.txt")" "ignored"
	expect_not_contains "$(cat "$S/tree.txt")" ".xtrk"
	expect_not_contains "$j" "train.log"
	expect_not_contains "$j" "cache.txt"
'
check "a file over capture.untracked-max-file is named in a warning and in the record" '
	expect_contains "$(cat "$S/err")" "warning"
	expect_contains "$(cat "$S/err")" "big.bin"
	expect_contains "$(cat "$S/err")" "capture.untracked-max-file"
	expect_eq "$(echo "$j" | ut | json_get skipped.0.path)" big.bin
	expect_eq "$(echo "$j" | ut | json_get skipped.0.reason)" max-file
	expect_eq "$(echo "$j" | ut | json_get skipped.0.bytes)" 1500000
	expect_not_contains "$(cat "$S/err")" "sweep.py"
'
check "the names list is kept as it was" '
	expect_contains "$(echo "$j" | json_get source.untracked)" "sweep.py"
'
check "fsck finds the untracked tree and its files" '
	xtrk fsck --read-data
'
check "checkout -C restores tracked change and untracked files byte for byte, not the ignored ones" '
	rm -rf "$TRASH/out"
	xtrk checkout -C "$TRASH/out" $run 2>"$S/co.err"
	hashes "$TRASH/out" sweep.py data/config.yaml data/nested/weights.bin go.sh > "$S/got"
	cmp "$S/want-untracked" "$S/got"
	cmp "$TRASH/out/train.py" "$S/want-train.py"
	test -x "$TRASH/out/go.sh"
	test -L "$TRASH/out/latest.py"
	expect_eq "$(readlink "$TRASH/out/latest.py")" sweep.py
	test ! -e "$TRASH/out/train.log"
	test ! -e "$TRASH/out/ignored"
	test ! -e "$TRASH/out/big.bin"
	expect_contains "$(cat "$S/co.err")" "big.bin"
	expect_contains "$(cat "$S/co.err")" "untracked"
'
check "checkout in place restores removed untracked files and the tracked change" '
	rm -rf sweep.py data latest.py go.sh && git checkout -q train.py
	xtrk checkout --force $run 2>/dev/null
	hashes . sweep.py data/config.yaml data/nested/weights.bin go.sh > "$S/got"
	cmp "$S/want-untracked" "$S/got"
	cmp train.py "$S/want-train.py"
	expect_eq "$(readlink latest.py)" sweep.py
	test -x go.sh
	git checkout -q main
'
check "in place: a changed untracked file is not overwritten without --force" '
	echo "print(\"mine\")" >> sweep.py
	cp sweep.py "$S/mine.py"
	rm data/config.yaml
	err=$(xtrk checkout $run 2>&1 || true)
	expect_contains "$err" "sweep.py"
	expect_contains "$err" "--force"
	cmp sweep.py "$S/mine.py"
	test ! -e data/config.yaml
	xtrk checkout --force $run 2>/dev/null
	hashes . sweep.py data/config.yaml data/nested/weights.bin go.sh > "$S/got"
	cmp "$S/want-untracked" "$S/got"
	git checkout -q main
'
check "in place: a folder in the way is refused before anything changes, even with --force" '
	rm sweep.py && mkdir sweep.py && git checkout -q train.py
	err=$(xtrk checkout --force $run 2>&1 || true)
	expect_contains "$err" "in the way"
	expect_contains "$err" "sweep.py"
	expect_contains "$err" "nothing was changed"
	git diff --quiet train.py
	rmdir sweep.py
	xtrk checkout --force $run 2>/dev/null
	cmp train.py "$S/want-train.py"
	git checkout -q main
'
check "checkout --no-source leaves untracked files alone" '
	echo changed > sweep.py
	xtrk checkout --no-source $run 2>/dev/null
	expect_eq "$(cat sweep.py)" changed
	xtrk checkout --force $run 2>/dev/null
	git checkout -q main
'
check "the limits and the switch come from .xtrk/config" '
	git config -f .xtrk/config capture.untracked-max-file 100
	git config -f .xtrk/config capture.untracked-max-total 60
	j2=$(xtrk show --json $(xtrk commit-run -e limits 2>"$S/err2"))
	git config -f .xtrk/config --unset capture.untracked-max-file
	git config -f .xtrk/config --unset capture.untracked-max-total
	skipped=$(echo "$j2" | ut | json_get skipped)
	expect_contains "$skipped" "\"data/nested/weights.bin\", \"reason\": \"max-file\""
	expect_contains "$skipped" "\"sweep.py\", \"reason\": \"max-total\""
	expect_eq "$(echo "$j2" | ut | json_get skipped_files)" 3
	expect_contains "$(cat "$S/err2")" "data/nested/weights.bin"
	expect_contains "$(cat "$S/err2")" "sweep.py"
	expect_contains "$(cat "$S/err2")" "capture.untracked-max-total"
	expect_eq "$(echo "$j2" | ut | json_get files)" 3
	test $(echo "$j2" | ut | json_get bytes) -le 60
	git config -f .xtrk/config capture.untracked false
	j3=$(xtrk show --json $(xtrk commit-run -e limits 2>"$S/err3"))
	git config -f .xtrk/config --unset capture.untracked
	expect_eq "$(echo "$j3" | ut)" null
	expect_not_contains "$(cat "$S/err3")" "big.bin"
	git config -f .xtrk/config capture.untracked-max-file lots
	expect_exit 1 xtrk commit-run -e limits
	git config -f .xtrk/config --unset capture.untracked-max-file
'
check "the run's own data, models and params files are not captured twice, nor warned about" '
	printf "lr: 0.1\n" > params.yaml
	id6=$(xtrk commit-run -e owned -d data --model big.bin -P params.yaml 2>"$S/err6")
	j6=$(xtrk show --json $id6)
	expect_eq "$(xtrk diff --source $id6)" \
		"diff ${id6%${id6#????????????}} (owned) -> workspace (the files as they are now): no differences"
	expect_not_contains "$(cat "$S/err6")" "big.bin"
	expect_eq "$(echo "$j6" | ut | json_get skipped_files)" 0
	tree=$(xtrk cat-object $(echo "$j6" | ut | json_get id))
	expect_not_contains "$tree" "data"
	expect_not_contains "$tree" "params.yaml"
	expect_contains "$tree" "sweep.py"
	xtrk run -e owned-run --model big.bin -- touch big.bin >/dev/null 2>"$S/err7"
	expect_not_contains "$(cat "$S/err7")" "big.bin"
	rm params.yaml
'
check "no untracked files: the field is null" '
	mkdir "$TRASH/clean" && cd "$TRASH/clean" && new_git_repo && new_ws
	expect_eq "$(xtrk show --json $(xtrk commit-run) | ut)" null
'
check "special files (git does not list them) are left out, and nothing hangs on a FIFO" '
	mkfifo pipe
	j4=$(xtrk show --json $(xtrk commit-run -e special 2>"$S/err4"))
	rm pipe
	expect_not_contains "$(xtrk cat-object $(echo "$j4" | ut | json_get id))" "pipe"
'
check "an untracked file written to while it is read (a log being appended) is left out, named, and the run recorded" '
	git config -f .xtrk/config capture.untracked-max-file 1000000000
	git config -f .xtrk/config capture.untracked-max-total 1000000000
	head -c 600000 /dev/urandom | base64 > growing.txt
	( while [ ! -e stop-appending ]; do echo "epoch line" >> growing.txt; done ) & app=$!
	n=0 left=0
	while [ $n -lt 6 ]; do
		n=$((n + 1))
		id=$(xtrk commit-run -e appending 2>"$S/err-app") || { kill $app; cat "$S/err-app"; false; }
		reason=$(xtrk show --json $id | ut | python3 -c "import json, sys; u = json.load(sys.stdin); print(\" \".join(s[\"reason\"] for s in u.get(\"skipped\", []) if s[\"path\"] == \"growing.txt\"))")
		case $reason in "") ;; unreadable) left=$((left + 1)) ;; *) kill $app; echo "reason $reason"; false ;; esac
	done
	touch stop-appending; wait $app; rm -f stop-appending growing.txt
	git config -f .xtrk/config --unset capture.untracked-max-file
	git config -f .xtrk/config --unset capture.untracked-max-total
	echo "# $left of 6 runs left the growing file out" >&2
	[ $left -gt 0 ] || echo "# (the appender never hit a read: nothing shown either way)" >&2
'
check "xtrk run captures untracked files too" '
	xtrk run -e viarun -- true >/dev/null 2>&1
	j5=$(xtrk show --json viarun)
	expect_eq "$(echo "$j5" | ut | json_get id)" "$(echo "$j" | ut | json_get id)"
'
check "diff names untracked files that differ" '
	echo "print(1)" >> sweep.py && echo extra > extra.txt
	b=$(xtrk commit-run -e sweep 2>/dev/null)
	out=$(xtrk diff $run $b)
	expect_contains "$out" "sweep.py"
	expect_contains "$out" "extra.txt"
	dj=$(xtrk diff --json $run $b)
	expect_contains "$(echo "$dj" | json_get source.untracked.modified)" "sweep.py"
	expect_contains "$(echo "$dj" | json_get source.untracked.added)" "extra.txt"
	expect_exit 3 xtrk diff --exit-code $run $b
	rm extra.txt && git checkout -q main 2>/dev/null || true
	xtrk checkout --force $run 2>/dev/null
'
check "a bundle carries the untracked files, with and without data" '
	xtrk bundle create -o "$S/b.tar" --with-source $run 2>/dev/null
	xtrk bundle create -o "$S/nd.tar" --no-data --with-source $run 2>/dev/null
	expect_contains "$(tar -xOf "$S/b.tar" RUNBOOK.md)" "untracked files stored as tree"
	for f in b nd; do
		rm -rf "$TRASH/other" && mkdir "$TRASH/other" && (cd "$TRASH/other" && new_ws && xtrk bundle import "$S/$f.tar" >/dev/null 2>&1 && xtrk fsck)
		rm -rf "$TRASH/out-$f" && (cd "$TRASH/other" && xtrk checkout --no-data -C "$TRASH/out-$f" $run >/dev/null 2>&1)
		hashes "$TRASH/out-$f" sweep.py data/config.yaml data/nested/weights.bin go.sh > "$S/got"
		cmp "$S/want-untracked" "$S/got"
	done
'
check "a folder that is data in one run and untracked files in another travels without data too" '
	d=$(xtrk commit-run -e owned -d data 2>/dev/null)
	for order in "$d $run" "$run $d"; do
		xtrk bundle create -o "$S/mixed.tar" --no-data --with-source $order 2>/dev/null
		rm -rf "$TRASH/other" "$TRASH/out-mixed" && mkdir "$TRASH/other"
		(cd "$TRASH/other" && new_ws && xtrk bundle import "$S/mixed.tar" >/dev/null 2>&1 && xtrk fsck >/dev/null &&
			xtrk checkout --no-data -C "$TRASH/out-mixed" $run >/dev/null 2>&1)
		hashes "$TRASH/out-mixed" sweep.py data/config.yaml data/nested/weights.bin go.sh > "$S/got"
		cmp "$S/want-untracked" "$S/got"
	done
'
check "push and pull carry the untracked files" '
	xtrk remote add shared "$TRASH/shared" 2>/dev/null
	xtrk push shared $run 2>/dev/null
	xtrk -C "$TRASH/shared" fsck --read-data 2>/dev/null
	rm -rf "$TRASH/clone" && git clone -q . "$TRASH/clone" && (cd "$TRASH/clone" && new_ws &&
		xtrk remote add shared "$TRASH/shared" 2>/dev/null && xtrk pull shared $run 2>/dev/null && xtrk fsck &&
		xtrk checkout --no-data -C "$TRASH/out-pulled" $run >/dev/null 2>&1)
	hashes "$TRASH/out-pulled" sweep.py data/config.yaml data/nested/weights.bin go.sh > "$S/got"
	cmp "$S/want-untracked" "$S/got"
'
check "fsck reports a missing untracked file" '
	rm -rf "$TRASH/copy" && cp -a . "$TRASH/copy" && cd "$TRASH/copy"
	w=$(xxhsum -H2 data/nested/weights.bin | cut -d" " -f1)
	rm .xtrk/objects/$(echo $w | cut -c1-2)/$(echo $w | cut -c3-)
	out=$(xtrk fsck 2>&1 || true)
	expect_contains "$out" "$w"
	expect_contains "$out" "untracked"
'
check "a hostile untracked tree cannot write outside the target" '
	w=$(xxhsum -H2 sweep.py | cut -d" " -f1)
	for name in .. .git .XTRK "a/b"; do
		printf "100644 blob %s 10 1\t%s\n" $w "$name" > "$S/evil.tree"
		t=$(xtrk hash-object -w -t tree "$S/evil.tree")
		xtrk cat-object $run > "$S/r.json"
		python3 - "$S/r.json" $t "$S/r2.json" <<-PY
		import json, sys
		r = json.load(open(sys.argv[1]))
		r["source"]["untracked_content"]["id"] = sys.argv[2]
		open(sys.argv[3], "w").write(json.dumps(r, sort_keys=True, separators=(",", ":")))
		PY
		id2=$(xtrk hash-object -w -t run "$S/r2.json")
		echo $id2 > .xtrk/refs/experiments/sweep/$id2
		rm -rf "$TRASH/evil"
		err=$(xtrk checkout -C "$TRASH/evil/in" $id2 2>&1 || true)
		rm .xtrk/refs/experiments/sweep/$id2
		expect_contains "$err" "malformed tree"
		test ! -e "$TRASH/evil/sweep.py"
		test ! -e "$TRASH/evil/in/sweep.py"
	done
'
check "a bundle whose record has a bad untracked field is refused" '
	xtrk bundle create -o "$S/good.tar" $run 2>/dev/null
	python3 "$XTRK_TEST_SRCDIR/tests/helpers/mkbundle.py" "$S/good.tar" run-untracked "$S/bad.tar"
	rm -rf "$TRASH/victim" && mkdir "$TRASH/victim" && (cd "$TRASH/victim" && new_ws)
	out=$(xtrk -C "$TRASH/victim" bundle import "$S/bad.tar" 2>&1 || true)
	expect_contains "$out" "source.untracked_content"
	expect_eq "$(xtrk -C "$TRASH/victim" log --format json)" "[]"
'
finish
