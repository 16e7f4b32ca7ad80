#!/bin/sh
# Hostile source: a bundle's (or a planted run's) patch, source tree, untracked files and scripts
# naming .xtrk, .git, '..', absolute paths or control characters are refused by verify, import and
# checkout with nothing written; checkout -C never writes through links in the target, never leaves
# stale files in it, refuses untracked files in the way, and -C naming the workspace is checked as
# checkout in place.
. "$(dirname "$0")/lib.sh"

mk() { python3 "$XTRK_TEST_SRCDIR/tests/helpers/mkbundle.py" "$@"; }
put() { XTRK_BIN="$XTRK_BIN" python3 "$XTRK_TEST_SRCDIR/tests/helpers/putobj.py" "$@"; }
tree_listing() { (cd "$1" && find . -path ./.xtrk/cache -prune -o -path ./.xtrk/objects/tmp -prune -o -print | sort); }

# The origin: a dirty run (it has a patch) and a clean one, each in a bundle with its source.
mkdir origin && cd origin
new_git_repo
mkdir src && echo 'x = 1' > src/model.py && git add src && git commit -qm third
new_ws
echo "# tweak" >> train.py
xtrk commit-run -e dirty -p lr=0.1 >/dev/null
git checkout -q train.py
echo numbers > data.txt
xtrk commit-run -e clean -p lr=0.2 -d data.txt >/dev/null
xtrk bundle create --with-source -o ../good-dirty.tar dirty 2>/dev/null
xtrk bundle create --with-source -o ../good-clean.tar clean 2>/dev/null
base=$(git rev-parse HEAD)
cd "$TRASH"

# The victim: a workspace with a store and a git work tree of its own.
mkdir victim && cd victim && new_git_repo && new_ws && cd "$TRASH"
xtrk -C victim bundle import good-clean.tar 2>/dev/null
before_store=$(store_listing victim)
before_tree=$(tree_listing victim)
echo original > marker

# refused BUNDLE MESSAGE: verify and import refuse it naming MESSAGE; the victim is unchanged.
refused() {
	set +e
	xtrk bundle verify "$1" > verify.out 2>&1; vrc=$?
	xtrk -C victim bundle import "$1" > import.out 2>&1; irc=$?
	set -e
	[ $vrc -eq 3 ] || [ $vrc -eq 1 ] || { echo "verify exit $vrc for $1"; cat verify.out; return 1; }
	expect_contains "$(cat verify.out)" "$2"
	expect_eq $irc 1
	expect_contains "$(cat import.out)" "$2"
	expect_eq "$(store_listing victim)" "$before_store"
	expect_eq "$(tree_listing victim)" "$before_tree"
	expect_eq "$(cat marker)" original
}

newfile_patch() { # PATH as it appears after a/ and b/ (quoted when it starts with ")
	printf 'diff --git %s %s\nnew file mode 100644\nindex 0000000..e69de29\n--- /dev/null\n+++ %s\n@@ -0,0 +1 @@\n+owned\n' \
		"$1" "$2" "$2"
}

check "the bundles made here are good" '
	xtrk bundle verify good-dirty.tar >/dev/null 2>&1
	xtrk bundle verify good-clean.tar >/dev/null 2>&1
'

check "a recorded patch naming .xtrk, .git, .., absolute or control-character paths is refused" '
	n=0
	for p in .xtrk/refs/tags/x .XTRK/config.lock .Xtrk/config a/.xtrk/x deep/er/.XtRk/objects/x \
		.git/hooks/post-checkout sub/.GIT/config "GIT~1/config" ".git./config" ../outside/victim \
		a/../../outside; do
		newfile_patch "a/$p" "b/$p" > p.diff
		mk good-dirty.tar patch h.tar "$TRASH/p.diff"
		refused h.tar "the recorded patch names" || { echo "for $p"; return 1; }
		n=$((n+1))
	done
	newfile_patch "\"a/x\\033]52;c;x\"" "\"b/x\\033]52;c;x\"" > p.diff
	mk good-dirty.tar patch h.tar "$TRASH/p.diff"
	refused h.tar "control character"
	newfile_patch "\"a/x\\tb\"" "\"b/x\\tb\"" > p.diff
	mk good-dirty.tar patch h.tar "$TRASH/p.diff"
	refused h.tar "control character"
	expect_eq $n 11
'

check "a patch deleting or renaming into the store is refused: both its paths are checked" '
	printf "diff --git a/.xtrk/config b/.xtrk/config\ndeleted file mode 100644\nindex e69de29..0000000\n--- a/.xtrk/config\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n" > p.diff
	mk good-dirty.tar patch h.tar "$TRASH/p.diff"
	refused h.tar ".xtrk/config"
	printf "diff --git a/train.py b/.git/config\nsimilarity index 100%%\nrename from train.py\nrename to .git/config\n" > p.diff
	mk good-dirty.tar patch h.tar "$TRASH/p.diff"
	refused h.tar ".git/config"
'

# A commit whose tree holds NAME (a folder with one file x, or a file when NAME ends in :f), packed.
hostile_commit() {
	(cd origin
	b=$(echo owned | git hash-object -w --stdin)
	sub=$(printf "100644 blob %s\tx\n" $b | git mktree)
	case $1 in
	*:f) entry=$(printf "100644 blob %s\t%s" $b "${1%:f}") ;;
	*/*) inner=$(printf "040000 tree %s\t%s\n" $sub "${1#*/}" | git mktree)
	     entry=$(printf "040000 tree %s\t%s" $inner "${1%%/*}") ;;
	*) entry=$(printf "040000 tree %s\t%s" $sub "$1") ;;
	esac
	t=$( (git ls-tree HEAD; printf "%s\n" "$entry") | git mktree)
	c=$(git commit-tree $t -p HEAD -m hostile)
	echo $c | git pack-objects --revs --stdout > ../h.pack 2>/dev/null
	echo $c)
}

check "a source tree naming .xtrk, .git, .. or control characters at any depth is refused" '
	n=0
	for name in .xtrk .XTRK .Xtrk .git .GIT "GIT~1" "xtrk~1" ".git " ".xtrk.." .. . a/.xtrk a/.GIT \
		"$(printf "a\001b")" "$(printf "esc\033[2J")" ".xtrk:f" ".GIT:f"; do
		c=$(hostile_commit "$name")
		mk good-clean.tar source-commit h.tar "$TRASH/h.pack" $c
		refused h.tar "the source tree names" || { echo "for tree entry $name"; return 1; }
		n=$((n+1))
	done
	expect_eq $n 17
'

check "a source tree with a name both file and folder is refused" '
	(cd origin
	b=$(echo owned | git hash-object -w --stdin)
	sub=$(printf "100644 blob %s\tx\n" $b | git mktree)
	t=$(printf "040000 tree %s\tsrc\n100644 blob %s\tsrc\n" $sub $b | git mktree)
	c=$(git commit-tree $t -m twice)
	echo $c | git pack-objects --revs --stdout > ../h.pack 2>/dev/null
	echo $c > ../h.commit)
	mk good-clean.tar source-commit h.tar "$TRASH/h.pack" $(cat h.commit)
	refused h.tar "src"
'

check "untracked files or scripts with control characters or reserved names are refused" '
	for name in "$(printf "a\001b")" "$(printf "x\033]52;c;eA==\007")" "$(printf "tab\there")"; do
		mk good-clean.tar untracked-name h.tar "$name"
		refused h.tar "its untracked files name" || { echo "for untracked $name"; return 1; }
	done
	mk good-clean.tar untracked-name h.tar .XTRK
	refused h.tar "run"
	for p in /tmp/.xtrk /tmp/.. /tmp/.GIT; do
		mk good-clean.tar script-name h.tar "$p"
		refused h.tar "source.scripts" || { echo "for script $p"; return 1; }
	done
'

# ---- checkout itself: runs planted in the store as a hostile remote or an older xtrk could leave them ----

cd victim
run=$(xtrk log -e clean --format="{id}" 2>/dev/null | head -1)
[ -n "$run" ] || run=$(ls .xtrk/refs/experiments/clean | head -1)
cd "$TRASH"

check "checkout in place refuses a planted run whose patch writes into .xtrk; nothing is written" '
	cd victim
	for p in .xtrk/refs/tags/x .XTRK/config.lock .git/hooks/x; do
		newfile_patch "a/$p" "b/$p" > ../p.diff
		pid=$(put . blob ../p.diff)
		evil=$(put . derive $run evil "{\"patch\": \"$pid\"}")
		st=$(store_listing .) tr=$(tree_listing .)
		set +e; xtrk checkout $evil >../co.out 2>&1; rc=$?; set -e
		expect_eq $rc 1
		expect_contains "$(cat ../co.out)" "the recorded patch names"
		expect_eq "$(store_listing .)" "$st"
		expect_eq "$(tree_listing .)" "$tr"
		test ! -e .xtrk/refs/tags/x
		set +e; xtrk checkout $evil -C ../evil-out >../co.out 2>&1; rc=$?; set -e
		expect_eq $rc 1
		test ! -e ../evil-out
	done
'

check "checkout refuses a planted run whose untracked files have a control character in a name" '
	cd victim
	b=$(echo owned | xtrk hash-object -w /dev/stdin 2>/dev/null || true)
	echo owned > ../owned && b=$(xtrk hash-object -w ../owned)
	printf "100644 blob %s 6 1\tx\033[2Jy\n" $b > ../t.tree
	t=$(put . tree ../t.tree)
	evil=$(put . derive $run evil2 "{\"untracked_content\": {\"id\": \"$t\", \"files\": 1, \"bytes\": 6, \"skipped\": []}}")
	set +e; xtrk checkout $evil -C ../evil-out2 >../co.out 2>&1; rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$(cat ../co.out)" "control character"
	test ! -e ../evil-out2
'

check "pull from a remote refuses a run whose patch or untracked files write into .xtrk; nothing arrives" '
	mkdir evilws && (cd evilws && new_git_repo && new_ws && echo "# t" >> train.py && xtrk commit-run -e e -p a=1 >/dev/null)
	good=$(ls evilws/.xtrk/refs/experiments/e)
	newfile_patch a/.xtrk/refs/tags/x b/.xtrk/refs/tags/x > p.diff
	pid=$(put evilws blob p.diff)
	put evilws derive $good bad "{\"patch\": \"$pid\"}" >/dev/null
	echo owned > owned && b=$(xtrk -C evilws hash-object -w "$TRASH/owned")
	printf "100644 blob %s 6 1\tx\033]52;c;eA==\007\n" $b > t.tree
	t=$(put evilws tree t.tree)
	put evilws derive $good bad2 "{\"untracked_content\": {\"id\": \"$t\", \"files\": 1, \"bytes\": 6, \"skipped\": []}}" >/dev/null
	xtrk -C victim remote add evil "$TRASH/evilws/.xtrk" 2>/dev/null
	st=$(store_listing victim)
	for e in bad bad2; do
		set +e; xtrk -C victim pull evil "$(ls evilws/.xtrk/refs/experiments/$e)" >pull.out 2>&1; rc=$?; set -e
		expect_eq $rc 1
		expect_contains "$(cat pull.out)" " name" || { echo "for $e"; return 1; }
		expect_eq "$(store_listing victim)" "$st"
	done
	expect_contains "$(cat pull.out)" "control character"
	expect_contains "$(cat pull.out)" "x\\x1b]52;c;eA==\\x07"
	expect_not_contains "$(cat pull.out)" "$(printf "\033")"
'

check "checkout -C never writes through a link in the target (folder or file)" '
	mkdir -p outside && echo precious > outside/victim && echo keep > outside/model.py
	mkdir t1 && ln -s ../outside t1/src
	mkdir t2 && ln -s ../outside/victim t2/train.py
	set +e; xtrk -C victim checkout $run -C "$TRASH/t1" >co.out 2>&1; rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$(cat co.out)" "not empty"
	set +e; xtrk -C victim checkout $run -C "$TRASH/t1" --force >co.out 2>&1; rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$(cat co.out)" "in the way"
	expect_eq "$(ls t1)" src
	expect_eq "$(cat outside/model.py)" keep
	xtrk -C victim checkout $run -C "$TRASH/t2" --force 2>/dev/null
	expect_eq "$(cat outside/victim)" precious
	test ! -L t2/train.py
	cmp t2/train.py origin/train.py
	expect_eq "$(ls outside)" "model.py
victim"
'

check "checkout -C refuses a non-empty folder; with --force every source file is rewritten" '
	xtrk -C victim checkout $run -C "$TRASH/full" 2>/dev/null
	echo stale > full/config.py && echo stale > full/src/model.py
	set +e; xtrk -C victim checkout $run -C "$TRASH/full" >co.out 2>&1; rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$(cat co.out)" "is not empty"
	expect_eq "$(cat full/config.py)" stale
	xtrk -C victim checkout $run -C "$TRASH/full" --force 2>/dev/null
	cmp full/config.py origin/config.py
	cmp full/src/model.py origin/src/model.py
	mkdir notempty && echo mine > notempty/mine
	set +e; xtrk -C victim checkout $run -C "$TRASH/notempty" >co.out 2>&1; rc=$?; set -e
	expect_eq $rc 1
	expect_eq "$(ls notempty)" mine
'

check "checkout in place refuses untracked files the run would overwrite, naming them; --force overwrites" '
	cd victim
	git checkout -q --detach HEAD~1
	echo "mine" > config.py
	mkdir src && echo mine > src/model.py
	set +e; xtrk checkout $run >../co.out 2>&1; rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$(cat ../co.out)" "untracked"
	expect_contains "$(cat ../co.out)" "config.py"
	expect_contains "$(cat ../co.out)" "src/model.py"
	expect_eq "$(cat config.py)" mine
	expect_eq "$(git rev-parse HEAD)" "$(git rev-parse HEAD~0)"
	rm -rf src && echo "mine" > src
	set +e; xtrk checkout $run >../co.out 2>&1; rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$(cat ../co.out)" "'"'"'src'"'"'"
	expect_eq "$(cat src)" mine
	rm src
	xtrk checkout $run --force 2>/dev/null
	cmp config.py ../origin/config.py
'

check "checkout -C naming the workspace (., ./, absolute, a link to it) is checked like checkout in place" '
	cd victim
	git checkout -q --detach HEAD~1
	echo "# my work" >> train.py
	ln -sfn "$TRASH/victim" ../ws-link
	for d in . ./ "$TRASH/victim" ../ws-link "$TRASH/victim/"; do
		set +e; xtrk checkout $run -C "$d" >../co.out 2>&1; rc=$?; set -e
		expect_eq $rc 1
		expect_contains "$(cat ../co.out)" "uncommitted changes" || { echo "for -C $d"; return 1; }
		expect_contains "$(tail -1 train.py)" "my work"
	done
	git checkout -q train.py
'

check "an untracked file whose name checkout would refuse is not captured, and the run stays restorable" '
	mkdir capws && cd capws && new_git_repo && new_ws
	echo hi > "$(printf "esc\033[2Jx")" && echo ok > plain.txt
	r=$(xtrk commit-run -e cap -p a=1 2>../cap.err)
	expect_contains "$(cat ../cap.err)" "cannot be written back"
	expect_eq "$(xtrk show $r --json | json_get source.untracked_content.skipped_files)" 1
	xtrk bundle create --with-source -o ../cap.tar cap 2>/dev/null
	xtrk bundle verify ../cap.tar >/dev/null 2>&1
	xtrk checkout $r -C ../cap-out 2>/dev/null
	cmp ../cap-out/plain.txt plain.txt
'

finish
