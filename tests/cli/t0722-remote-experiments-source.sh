#!/bin/sh
# push/pull of whole experiments (-e EXP, --all) and of the runs' source: a colleague with no
# access to the git repository checks a pulled run out at its commit with its uncommitted
# changes; a hostile remote's source pack (damaged, truncated, a bomb, oversized, lacking the
# commit, writing a refused path) refuses the pull and changes nothing.
. "$(dirname "$0")/lib.sh"

# Alice: a git repository with history; runs on two commits, one with uncommitted changes.
mkdir alice && cd alice
new_git_repo
new_ws
c2=$(git rev-parse HEAD)
echo m1 > model.bin
a1=$(xtrk commit-run -e mnist --model model.bin -p lr=0.1 --tag best 2>/dev/null)
printf 'import sys\nprint("training v2")\n' > train.py
cp train.py "$TRASH/train-v2.py"
a2=$(xtrk commit-run -e mnist -p lr=0.2 2>/dev/null)
gone=$(xtrk commit-run -e mnist -p lr=9 2>/dev/null)
xtrk rm $gone >/dev/null 2>&1
a3=$(xtrk commit-run -e mnist -p lr=0.3 2>/dev/null)
git add train.py && git commit -qm third
c3=$(git rev-parse HEAD)
k1=$(xtrk commit-run -e cifar -p lr=1 2>/dev/null)
o1=$(xtrk commit-run -e other -p x=1 2>/dev/null)
xtrk remote add shared "$TRASH/shared" 2>/dev/null
cd "$TRASH"

check "push -e EXP sends every live run of it with its tags and source commit; removed runs stay behind" '
	xtrk -C alice push --json -e mnist shared > out 2>err
	expect_eq "$(json_get runs < out)" 3
	expect_eq "$(json_get runs_new < out)" 3
	expect_eq "$(json_get sources_new < out)" 1
	expect_contains "$(cat err)" "3 runs (3 new)"
	expect_contains "$(cat err)" "1 source commit"
	for r in $a1 $a2 $a3; do test -f shared/refs/experiments/mnist/$r; done
	test ! -e shared/refs/experiments/mnist/$gone && test ! -e shared/refs/removed/mnist/$gone
	test ! -e shared/refs/experiments/cifar
	expect_eq "$(cat shared/refs/tags/best)" "$a1"
	git --git-dir=shared/source.git cat-file -e "$c2^{commit}"
	expect_eq "$(git --git-dir=shared/source.git rev-list $c2 | wc -l)" 2
	xtrk -C shared fsck -q
'
check "a second push transfers nothing: no run, object or source pack" '
	ls shared/source.git/objects/pack > packs.before
	xtrk -C alice push --json -e mnist shared > out 2>/dev/null
	for k in runs_new objects_new bytes_new sources_new source_bytes_new; do expect_eq "$(json_get $k < out)" 0; done
	expect_eq "$(json_get runs < out)" 3
	expect_eq "$(ls shared/source.git/objects/pack)" "$(cat packs.before)"
'
check "-e is repeatable and combines with RUN; each run travels once" '
	xtrk -C alice push --json -e cifar -e mnist shared $o1 $a1 > out 2>/dev/null
	expect_eq "$(json_get runs < out)" 5
	expect_eq "$(json_get runs_new < out)" 2
	expect_eq "$(json_get sources_new < out)" 1
	git --git-dir=shared/source.git cat-file -e "$c3^{commit}"
'
check "--all sends every live run; with RUN or -e it is a usage error; unknown experiments are errors" '
	xtrk -C alice remote add all "$TRASH/all" 2>/dev/null
	xtrk -C alice push --json --all all > out 2>/dev/null
	expect_eq "$(json_get runs < out)" 5
	test ! -e all/refs/experiments/mnist/$gone
	expect_exit 2 xtrk -C alice push --all all $a1 2>err
	expect_contains "$(cat err)" "--all"
	expect_exit 2 xtrk -C alice pull --all -e mnist all 2>/dev/null
	expect_exit 1 xtrk -C alice push -e nosuch all 2>err
	expect_contains "$(cat err)" "experiment '"'"'nosuch'"'"' has no runs"
	expect_exit 1 xtrk -C alice push -e ../x all 2>err
	expect_contains "$(cat err)" "not a valid experiment name"
'
check "pull NAME EXP still takes the newest run; pull -e EXP takes every run of it" '
	mkdir carol && (cd carol && new_ws && xtrk remote add shared "$TRASH/shared" 2>/dev/null)
	xtrk -C carol pull --json shared mnist > out 2>/dev/null
	expect_eq "$(json_get runs < out)" 1
	expect_eq "$(xtrk -C carol log --format json | json_get 0.id)" "$a3"
	xtrk -C carol pull --json -e mnist shared > out 2>/dev/null
	expect_eq "$(json_get runs < out)" 3
	expect_eq "$(json_get runs_new < out)" 2
	expect_eq "$(xtrk -C carol show best --json | json_get id)" "$a1"
	before=$(store_listing carol)
	expect_exit 1 xtrk -C carol pull -e nosuch shared 2>err
	expect_contains "$(cat err)" "remote '"'"'shared'"'"': experiment '"'"'nosuch'"'"' has no runs"
	expect_eq "$(store_listing carol)" "$before"
	xtrk -C carol pull --json --all shared > out 2>/dev/null
	expect_eq "$(json_get runs < out)" 5
	expect_eq "$(json_get runs_new < out)" 2
'
check "a colleague with no access to the git repository checks out pulled runs: commit, history and patch" '
	mv alice/.git alice/.git-away
	trap "mv \"$TRASH/alice/.git-away\" \"$TRASH/alice/.git\"" EXIT
	mkdir bob && cd bob && new_ws && xtrk remote add shared "$TRASH/shared" 2>/dev/null
	! git rev-parse --git-dir >/dev/null 2>&1
	xtrk pull --json --all shared > out 2>err
	expect_eq "$(json_get sources_new < out)" 2
	expect_contains "$(cat err)" "2 source commits"
	xtrk checkout $a2 -C "$TRASH/bob-a2" 2>err
	expect_eq "$(cat "$TRASH/bob-a2/train.py")" "$(cat "$TRASH/train-v2.py")"
	expect_eq "$(cat "$TRASH/bob-a2/config.py")" "lr = 0.1"
	xtrk checkout $a1 -C "$TRASH/bob-a1" 2>/dev/null
	expect_eq "$(cat "$TRASH/bob-a1/train.py")" "$(printf "import sys\nprint(\"training\")")"
	expect_eq "$(cat "$TRASH/bob-a1/model.bin")" m1
	xtrk checkout $k1 -C "$TRASH/bob-k1" 2>/dev/null
	expect_eq "$(cat "$TRASH/bob-k1/train.py")" "$(cat "$TRASH/train-v2.py")"
	expect_eq "$(git --git-dir=.xtrk/source.git rev-list $c3 | wc -l)" 3
	xtrk pull --json --all shared > out 2>/dev/null
	expect_eq "$(json_get sources_new < out)" 0
'
check "a run pulled with its source is passed on from a store with no git repository" '
	xtrk -C bob remote add second "$TRASH/second" 2>/dev/null
	xtrk -C bob push --json -e mnist second > out 2>/dev/null
	expect_eq "$(json_get sources_new < out)" 1
	mkdir dave && (cd dave && new_ws && xtrk remote add second "$TRASH/second" 2>/dev/null)
	xtrk -C dave pull -e mnist second 2>/dev/null
	xtrk -C dave checkout $a2 -C "$TRASH/dave-a2" 2>/dev/null
	expect_eq "$(cat "$TRASH/dave-a2/train.py")" "$(cat "$TRASH/train-v2.py")"
'
check "--no-source leaves the source behind; pulling such a run warns and checkout says where to get it" '
	xtrk -C alice remote add nosrc "$TRASH/nosrc" 2>/dev/null
	xtrk -C alice push --json --no-source -e mnist nosrc > out 2>/dev/null
	expect_eq "$(json_get sources_new < out)" 0
	test ! -e nosrc/source.git
	mkdir erin && (cd erin && new_ws && xtrk remote add nosrc "$TRASH/nosrc" 2>/dev/null &&
		xtrk remote add shared "$TRASH/shared" 2>/dev/null)
	xtrk -C erin pull --json -e mnist nosrc > out 2>err
	expect_eq "$(json_get runs_new < out)" 3
	expect_eq "$(json_get sources_missing < out)" 1
	expect_contains "$(cat err)" "pulled without its source"
	expect_exit 1 xtrk -C erin checkout $a2 -C "$TRASH/erin-a2" 2>err
	expect_contains "$(cat err)" "pushed to with its source"
	xtrk -C erin pull --json --no-source -e mnist shared > out 2>/dev/null
	expect_eq "$(json_get sources_new < out)" 0
	test ! -e erin/.xtrk/source.git
	xtrk -C erin pull --json -e mnist shared > out 2>/dev/null
	expect_eq "$(json_get sources_new < out)" 1
	xtrk -C erin checkout $a2 -C "$TRASH/erin-a2" 2>/dev/null
	expect_eq "$(cat "$TRASH/erin-a2/train.py")" "$(cat "$TRASH/train-v2.py")"
'
check "a run whose commit is gone from the git repository is pushed without its source, with a warning" '
	mkdir ghost && cd ghost && new_git_repo && new_ws
	g1=$(xtrk commit-run -e ghost -p a=1 2>/dev/null)
	rm -rf .git
	xtrk remote add r "$TRASH/ghost-remote" 2>/dev/null
	xtrk push --json r > out 2>err
	expect_eq "$(json_get runs_new < out)" 1
	expect_eq "$(json_get sources_missing < out)" 1
	expect_contains "$(cat err)" "run $g1: its source commit"
	expect_contains "$(cat err)" "pushed without its source"
	test -f "$TRASH/ghost-remote/refs/experiments/ghost/$g1"
'

check "bash completion: remote names, then the sending side's experiments after -e, and the new options" '
	command -v bash >/dev/null || skip "no bash"
	cd alice
	bash -c "set -e
		. \"$XTRK_TEST_SRCDIR/contrib/completion/xtrk.bash\"
		xtrk() { \"$XTRK_BIN\" \"\$@\"; }
		c() { COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _xtrk \"$XTRK_BIN\" || return 1; echo \"\${COMPREPLY[*]}\"; }
		test \"\$(c xtrk push sh)\" = shared
		test \"\$(c xtrk pull --all nos)\" = nosrc
		test \"\$(c xtrk push shared -e mn)\" = mnist
		test \"\$(c xtrk push -e ci)\" = cifar
		test \"\$(c xtrk pull shared -e oth)\" = other
		test \"\$(c xtrk pull nosrc -e oth)\" = \"\"
		test \"\$(c xtrk pull shared be)\" = best
		test \"\$(c xtrk push --no-s)\" = --no-source
		test \"\$(c xtrk pull --al)\" = --all
	"
'

# ---- a hostile remote's source packs ----

# A remote holding mnist with its one source pack, copied fresh for each case.
xtrk -C alice remote add hgood "$TRASH/hgood" 2>/dev/null
xtrk -C alice push -e mnist hgood 2>/dev/null
(cd alice && xtrk bundle create -o "$TRASH/good.tar" $a1 2>/dev/null)
fresh_h() {
	rm -rf h && cp -a hgood h
	P=$(ls h/source.git/objects/pack/*.pack) && I=${P%.pack}.idx
	chmod u+w "$P" "$I"
}
# mkidx PACK IDX COMMIT...: a pack index, version 2, that claims the commits (at offset 12 of PACK)
mkidx() {
	python3 - "$@" <<-'EOF'
		import hashlib, struct, sys, zlib
		pack, idx, ids = sys.argv[1], sys.argv[2], sorted(bytes.fromhex(c) for c in sys.argv[3:])
		with open(pack, "rb") as f:
		    f.seek(-20, 2)
		    trailer = f.read(20)
		out = b"\xfftOc" + struct.pack(">I", 2)
		out += b"".join(struct.pack(">I", sum(1 for i in ids if i[0] <= b)) for b in range(256))
		out += b"".join(ids) + b"".join(struct.pack(">I", zlib.crc32(i)) for i in ids)
		out += b"".join(struct.pack(">I", 12) for i in ids) + trailer
		open(idx, "wb").write(out + hashlib.sha1(out).digest())
	EOF
}
# a bundle case's source.pack (tests/helpers/mkbundle.py), alone
bundle_pack() {
	python3 "$XTRK_TEST_SRCDIR/tests/helpers/mkbundle.py" good.tar "$1" hb.tar "$2"
	tar -xOf hb.tar source.pack > "$3"
}
# refused MESSAGE: a fresh store's pull of mnist from h fails naming MESSAGE, within 20 s, and changes nothing
refused() {
	rm -rf victim && mkdir victim && (cd victim && new_ws && xtrk remote add h "$TRASH/h" 2>/dev/null)
	before=$(store_listing victim)
	expect_exit 1 timeout 20 "$XTRK_BIN" -C victim pull -e mnist h 2>err
	expect_contains "$(cat err)" "$1"
	expect_eq "$(store_listing victim)" "$before"
	test ! -e victim/.xtrk/source.git
	expect_eq "$(find victim/.xtrk/objects/tmp -mindepth 1 | wc -l)" 0
}

check "the hostile-remote set-up pulls cleanly as it is" '
	fresh_h
	rm -rf victim && mkdir victim && (cd victim && new_ws && xtrk remote add h "$TRASH/h" 2>/dev/null)
	xtrk -C victim pull --json -e mnist h > out 2>/dev/null
	expect_eq "$(json_get sources_new < out)" 1
	xtrk -C victim checkout $a2 -C "$TRASH/victim-a2" 2>/dev/null
'
check "a damaged source pack (a byte flipped, or truncated) refuses the pull" '
	fresh_h
	flip_byte "$P" $(( $(wc -c < "$P") / 2 ))
	refused "source pack '"'"'$(basename "$P")'"'"' refused (nothing was pulled)"
	fresh_h
	truncate -s $(( $(wc -c < "$P") - 30 )) "$P"
	refused "source pack '"'"'$(basename "$P")'"'"' refused (nothing was pulled)"
'
check "a pack bomb and a delta bomb claiming the commit are refused before inflating" '
	fresh_h
	bundle_pack packbomb 1024 "$P"
	test $(wc -c < "$P") -lt 2000000
	mkidx "$P" "$I" $c2
	refused "refused before inflating"
	fresh_h
	bundle_pack deltabomb 1024 "$P"
	mkidx "$P" "$I" $c2
	refused "delta result"
'
check "an oversized source pack is refused unread" '
	fresh_h
	truncate -s $(( (4096 << 20) + 1 )) "$P"
	refused "more than the limit of 4096 MiB for a source pack (refused unread)"
'
check "a valid pack that does not hold the commit its index claims is refused" '
	fresh_h
	mkdir other && (cd other && git init -q && echo o > o && git add o && git commit -qm o &&
		git rev-parse HEAD | git pack-objects --revs -q --stdout > "$TRASH/other.pack")
	cp other.pack "$P"
	mkidx "$P" "$I" $c2
	refused "does not hold it"
'
check "links and pipes in the remote's source.git are never followed or read" '
	fresh_h
	ln -s /etc/passwd h/source.git/objects/pack/pack-0000.pack
	refused "symbolic link"
	fresh_h
	mv "$P" h/source.git/objects/pack/pack-00ff.pack && rm "$I"
	mkfifo h/source.git/objects/pack/pack-00ff.idx h/source.git/objects/pack/pack-0fff.pack
	rm -rf victim && mkdir victim && (cd victim && new_ws && xtrk remote add h "$TRASH/h" 2>/dev/null)
	timeout 20 "$XTRK_BIN" -C victim pull --json -e mnist h > out 2>err
	expect_eq "$(json_get sources_missing < out)" 1
	expect_contains "$(cat err)" "pulled without its source"
'
check "a source tree with a path checkout refuses: push refuses it, and a pull of a planted one is refused" '
	mkdir evil && cd evil && new_git_repo
	printf x > "$(printf "bad\033name")" && git add . && git commit -qm evil
	ce=$(git rev-parse HEAD)
	new_ws && xtrk commit-run -e mnist -p e=1 >/dev/null 2>&1
	xtrk remote add h "$TRASH/h" 2>/dev/null
	cd "$TRASH" && fresh_h && before=$(find h -type f | sort)
	expect_exit 1 xtrk -C evil push -e mnist h 2>err
	expect_contains "$(cat err)" "the source tree names"
	expect_eq "$(find h -type f | sort)" "$before"
	xtrk -C evil push --no-source -e mnist h 2>/dev/null
	(cd evil && echo $ce | git pack-objects --revs -q "$TRASH/h/source.git/objects/pack/pack" >/dev/null)
	refused "the source tree names"
'
finish
