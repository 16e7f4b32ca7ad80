#!/bin/sh
# checkout -C DIR makes DIR a git repository at the run's commit (its history, its branch, its
# remotes, the patch uncommitted), so that a run there records the same source; a fresh workspace
# is restored the same way in place; and the run book's rebuild, followed line by line, gives a run
# that differs from the original in nothing.
. "$(dirname "$0")/lib.sh"

mkdir w && cd w
new_git_repo
printf 'a\n' > notes.txt
git add notes.txt && git commit -qm third
git remote add origin "https://user:secret@example.com/proj.git"
# Remotes no git command should be handed: a helper that runs a command, a URL read as an option.
git remote add evil 'ext::sh -c touch% pwned'
git config remote.dash.url '-oProxyCommand=touch pwned'
new_ws
echo "# uncommitted tweak" >> train.py
printf 'staged\n' > added.py && git add added.py
rm notes.txt
printf 'scratch\n' > scratch.txt
commit=$(git rev-parse HEAD)
xtrk run -q -e exp -- python3 train.py >/dev/null
run=$(xtrk log -n 1 --format json | json_get 0.id)
git status --porcelain | sort > "$TRASH/want-status"
git diff HEAD > "$TRASH/want-diff"
cd "$TRASH"

check "checkout -C: a git repository at the commit, on the run's branch, with the history" '
	(cd w && xtrk checkout $run -C "$TRASH/copy" 2>"$TRASH/err")
	expect_eq "$(git -C copy rev-parse HEAD)" "$commit"
	expect_eq "$(git -C copy symbolic-ref HEAD)" refs/heads/main
	expect_eq "$(git -C copy rev-list --count HEAD)" 3
	git -C copy fsck --no-progress
	expect_contains "$(cat err)" "git: a new repository, on branch main at ${commit:0:12}, the patch left uncommitted"
'
check "an interrupted checkout -C leaves a folder --force makes again (its unfinished .git is xtrk's own)" '
	# what a kill -9 while the repository is being made leaves: the mark, part of git'"'"'s files, a stale index.lock
	mkdir -p cut/.git/objects && : > cut/.git/xtrk-incomplete && : > cut/.git/index.lock && echo x > cut/train.py
	expect_exit 1 "$XTRK_BIN" -C w checkout $run -C "$TRASH/cut" 2>cut.err
	expect_contains "$(cat cut.err)" "unfinished git repository of an interrupted checkout"
	test -e cut/.git/index.lock
	(cd w && xtrk checkout --force $run -C "$TRASH/cut" 2>/dev/null)
	expect_eq "$(git -C cut rev-parse HEAD)" "$commit"
	test ! -e cut/.git/xtrk-incomplete; test ! -e cut/.git/index.lock; test ! -e copy/.git/xtrk-incomplete
	(cd cut && git status --porcelain | sort) > cut-status
	diff want-status cut-status
	# killed between making .git and marking it: an empty .git is the same unfinished repository
	mkdir -p cut2/.git && echo x > cut2/train.py
	expect_exit 1 "$XTRK_BIN" -C w checkout $run -C "$TRASH/cut2" 2>cut2.err
	expect_contains "$(cat cut2.err)" "unfinished git repository of an interrupted checkout"
	(cd w && xtrk checkout --force $run -C "$TRASH/cut2" 2>/dev/null)
	expect_eq "$(git -C cut2 rev-parse HEAD)" "$commit"
'
check "the patch is uncommitted: git status and git diff say what they said in the original" '
	(cd copy && git status --porcelain | sort) > got-status
	diff want-status got-status
	git -C copy diff HEAD > got-diff
	diff want-diff got-diff
	expect_contains "$(cat got-status)" "A  added.py"
	expect_contains "$(cat got-status)" "?? scratch.txt"
'
check "the recorded remotes are added without credentials; hostile ones are left out, named" '
	expect_eq "$(git -C copy remote)" origin
	expect_eq "$(git -C copy remote get-url origin)" "https://example.com/proj.git"
	expect_contains "$(cat err)" "remote '"'"'evil'"'"' was not added"
	expect_contains "$(cat err)" "remote '"'"'dash'"'"' was not added"
	expect_contains "$(cat err)" "1 remote added, not fetched"
	! test -e copy/pwned
'
check "a run there records the same commit and an equal patch: diff shows no change of source" '
	(cd w && xtrk bundle create -o "$TRASH/orig.tar" --with-source $run 2>/dev/null)
	cd copy
	new_ws
	xtrk bundle import ../orig.tar >/dev/null
	xtrk run -q -e exp -- python3 train.py >/dev/null
	new=$(xtrk log -n 1 -e exp --format json | json_get 0.id)
	test "$new" != "$run"
	xtrk show --json $run | json_get source > ../a.json
	xtrk show --json $new | json_get source > ../b.json
	cd ..
	for k in commit branch patch untracked_content.id remotes.origin; do
		expect_eq "$(json_get $k < b.json)" "$(json_get $k < a.json)"
	done
	(cd copy && xtrk diff --json $run $new) > d.json
	expect_eq "$(json_get source.patch_changed < d.json)" false
	expect_eq "$(json_get source.commits_between < d.json)" 0
'
check "a run recorded with HEAD detached is restored detached" '
	(cd w && git stash -q -u && git checkout -q --detach HEAD~1 &&
	 xtrk run -q -e det -- python3 train.py >/dev/null &&
	 xtrk checkout $(xtrk log -n 1 -e det --format json | json_get 0.id) -C "$TRASH/det" 2>"$TRASH/err-det" &&
	 git checkout -q main && git stash pop -q)
	expect_exit 1 git -C det symbolic-ref -q HEAD
	expect_eq "$(git -C det rev-parse HEAD)" "$(git -C w rev-parse HEAD~1)"
	expect_eq "$(git -C det rev-list --count HEAD)" 2
	expect_contains "$(cat err-det)" "HEAD detached at"
	expect_eq "$(git -C det status --porcelain)" ""
'
check "refused, nothing changed: a .git that is a link, a gitfile, no repository or one for elsewhere (--force too)" '
	mkdir -p t1/.git t2 t3 && echo "not git" > t1/.git/notes.txt && ln -s "$TRASH/w/.git" t2/.git && echo "gitdir: $TRASH/w/.git" > t3/.git
	# A repository of its own in name only: its working tree is elsewhere.
	git init -q t6 && git -C t6 config core.worktree "$TRASH/w"
	for t in t1 t2 t3 t6; do
		before=$(find $t | sort)
		for f in "" --force; do
			err=$(cd w && xtrk checkout $run -C "$TRASH/$t" $f 2>&1 && echo UNEXPECTED || true)
			expect_contains "$err" "never writes through it, even with --force"
			expect_eq "$(find $t | sort)" "$before"
		done
	done
	expect_eq "$(git -C w rev-parse HEAD)" "$commit"
	expect_eq "$(git -C w status --porcelain | sort)" "$(cat want-status)"
'
check "--force over a git repository of its own: HEAD and index set, files rewritten, its branch not moved" '
	git init -q t4 && (cd t4 && echo old > train.py && echo mine > mine && git add . && git commit -qm mine)
	git -C t4 remote add origin https://elsewhere.example/x.git
	other=$(git -C t4 rev-parse HEAD)
	err=$(cd w && xtrk checkout $run -C "$TRASH/t4" 2>&1 && echo UNEXPECTED || true)
	expect_contains "$err" "is not empty: it holds a git repository"
	expect_eq "$(git -C t4 rev-parse HEAD)" "$other"
	(cd w && xtrk checkout $run -C "$TRASH/t4" --force 2>"$TRASH/err4")
	expect_eq "$(git -C t4 rev-parse HEAD)" "$commit"
	expect_exit 1 git -C t4 symbolic-ref -q HEAD
	expect_eq "$(git -C t4 rev-parse main)" "$other"
	expect_contains "$(cat err4)" "branch '"'"'main'"'"' of the target'"'"'s repository is at another commit"
	expect_eq "$(git -C t4 remote get-url origin)" https://elsewhere.example/x.git
	git -C t4 diff HEAD > got4
	diff want-diff got4
	expect_eq "$(cat t4/mine)" mine
	# Again, over the run'"'"'s own checkout: on its branch, nothing left over.
	(cd w && xtrk checkout $run -C "$TRASH/copy" --force 2>/dev/null)
	expect_eq "$(git -C copy symbolic-ref HEAD)" refs/heads/main
	(cd copy && git status --porcelain | grep -v "^?? .xtrk" | sort) > got-status
	diff want-status got-status
'
check "refused as before: a folder that is not empty, without --force" '
	mkdir t5 && echo mine > t5/mine
	err=$(cd w && xtrk checkout $run -C "$TRASH/t5" 2>&1 && echo UNEXPECTED || true)
	expect_contains "$err" "is not empty"
	expect_eq "$(ls -A t5)" mine
	(cd w && xtrk checkout $run -C "$TRASH/t5" --force 2>/dev/null)
	expect_eq "$(git -C t5 rev-parse HEAD)" "$commit"
	expect_eq "$(cat t5/mine)" mine
'
check "a fresh workspace in no git repository: checkout in place makes it the run's repository" '
	mkdir fresh && cd fresh
	new_ws
	xtrk bundle import ../orig.tar >/dev/null
	xtrk checkout $run 2>../err-fresh
	expect_eq "$(git rev-parse HEAD)" "$commit"
	git status --porcelain | sort > ../got-fresh
	diff ../want-status ../got-fresh
	expect_contains "$(cat ../err-fresh)" "git: a new repository"
'
check "a workspace in no git repository that holds files: in place is still refused" '
	mkdir full && cd full
	new_ws
	xtrk bundle import ../orig.tar >/dev/null
	echo mine > mine
	err=$(xtrk checkout $run 2>&1 && echo UNEXPECTED || true)
	expect_contains "$err" "is not a git repository"
	expect_eq "$(ls -A)" ".xtrk
mine"
'
check "-C into a fresh workspace: its .xtrk is not in the way" '
	mkdir ws2 && (cd ws2 && new_ws)
	(cd w && xtrk checkout $run -C "$TRASH/ws2" 2>/dev/null)
	expect_eq "$(git -C ws2 rev-parse HEAD)" "$commit"
	expect_eq "$(git -C ws2 status --porcelain --ignored | grep xtrk)" "!! .xtrk/"
'

# The run book's rebuild, run as written, for a run the Python package recorded itself.
mkdir -p bin && ln -s "$XTRK_BIN" bin/xtrk
mkdir py && cd py
git init -q . && git remote add origin https://example.com/py.git
cat > fit.py <<'PY'
import sys, xtrk
with xtrk.start(experiment="fit", params={"lr": float(sys.argv[1])}) as r:
    r.log_metric("acc", 0.5)
PY
mkdir sub && echo "runs from here" > sub/README
git add fit.py sub && git commit -qm fit
new_ws
echo "# tweak" >> fit.py
(cd sub && PATH="$TRASH/bin:$PATH" PYTHONPATH="$XTRK_TEST_SRCDIR/contrib/python" python3 ../fit.py 0.25 'a b')
prun=$(xtrk log -n 1 -e fit --format json | json_get 0.id)
xtrk bundle create -o "$TRASH/py.tar" --with-source $prun 2>/dev/null
cd "$TRASH"

check "run book, binding run: the command line and how to make the package importable" '
	tar -xOf py.tar RUNBOOK.md | sed -n "/^### Reproduce/,/^\`\`\`\$/p" | sed "1,3d;\$d" > recipe.sh
	cat recipe.sh
	expect_contains "$(cat recipe.sh)" "pip install ./contrib/python"
	expect_contains "$(cat recipe.sh)" "make install"
	expect_contains "$(cat recipe.sh)" "cd sub && python3 ../fit.py 0.25 '"'"'a b'"'"'"
	expect_not_contains "$(cat recipe.sh)" "xtrk run"
	expect_not_contains "$(cat recipe.sh)" "-C work"
'
check "run book, followed line by line: the rebuild records the same source, params and metrics" '
	# The package made importable as the recipe says, here without installing it.
	PATH="$TRASH/bin:$PATH" PYTHONPATH="$XTRK_TEST_SRCDIR/contrib/python" bash -e recipe.sh > out 2>&1 || { cat out; false; }
	cd rebuild-${prun:0:12}
	expect_eq "$(git rev-parse HEAD)" "$(git -C ../py rev-parse HEAD)"
	new=$(xtrk log -n 1 -e fit --format json | json_get 0.id)
	test "$new" != "$prun"
	xtrk diff --json $prun $new > d.json
	expect_eq "$(json_get source.patch_changed < d.json)" false
	expect_eq "$(json_get source.commits_between < d.json)" 0
	expect_exit 0 xtrk diff --exit-code --source --params --metrics $prun $new
	expect_contains "$(cat ../out)" "diff ${prun:0:12} (fit) -> "
'
check "run book without the source: it clones the recorded remote, and the rebuild records the same source" '
	git init -q --bare remote.git
	mkdir cl && cd cl
	new_git_repo
	git remote add origin "$TRASH/remote.git" && git push -q origin main
	new_ws
	echo "# tweak" >> train.py
	xtrk run -q -e cl -- python3 train.py >/dev/null
	crun=$(xtrk log -n 1 -e cl --format json | json_get 0.id)
	xtrk bundle create -o "$TRASH/cl.tar" $crun 2>/dev/null
	cd "$TRASH"
	tar -xOf cl.tar RUNBOOK.md | sed -n "/^### Reproduce/,/^\`\`\`\$/p" | sed "1,3d;\$d" > recipe-cl.sh
	expect_contains "$(head -1 recipe-cl.sh)" "git clone -- $TRASH/remote.git rebuild-${crun:0:12}"
	PATH="$TRASH/bin:$PATH" bash -e recipe-cl.sh > out-cl 2>&1 || { cat out-cl; false; }
	cd rebuild-${crun:0:12}
	new=$(xtrk log -n 1 -e cl --format json | json_get 0.id)
	test "$new" != "$crun"
	expect_exit 0 xtrk diff --exit-code --source $crun $new
	expect_eq "$(git diff HEAD)" "$(git -C ../cl diff HEAD)"
'
finish
