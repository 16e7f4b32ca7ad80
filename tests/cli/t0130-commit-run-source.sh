#!/bin/sh
# commit-run source capture: commit, branch, dirty patch, untracked files, remotes, no repository.
. "$(dirname "$0")/lib.sh"

check "outside git: a warning and a null source" '
	mkdir nogit && cd nogit && new_ws
	out=$(xtrk commit-run 2>err)
	expect_contains "$(cat err)" "xtrk: warning:"
	expect_contains "$(cat err)" "not in a git repository"
	j=$(xtrk show --json $out)
	expect_eq "$(echo "$j" | json_get source.commit)" null
	expect_eq "$(echo "$j" | json_get source.dirty)" false
'

mkdir repo && cd repo
new_git_repo
new_ws
git remote add origin https://alice:s3cret@git.example.com/team/project.git
git remote add mirror git@example.com:team/project.git

check "a clean repository: commit and branch, no patch" '
	id=$(xtrk commit-run)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get source.commit)" "$(git rev-parse HEAD)"
	expect_eq "$(echo "$j" | json_get source.branch)" main
	expect_eq "$(echo "$j" | json_get source.dirty)" false
	expect_eq "$(echo "$j" | json_get source.patch)" null
'
check "remote URLs are kept without credentials" '
	j=$(xtrk show --json $(xtrk commit-run))
	expect_eq "$(echo "$j" | json_get source.remotes.origin)" https://git.example.com/team/project.git
	expect_eq "$(echo "$j" | json_get source.remotes.mirror)" git@example.com:team/project.git
	expect_not_contains "$j" "s3cret"
'
check "staged and unstaged changes become one patch that applies to the commit" '
	echo "print(\"changed\")" >> train.py
	echo "momentum = 0.9" >> config.py && git add config.py
	echo new > untracked.txt
	j=$(xtrk show --json $(xtrk commit-run))
	expect_eq "$(echo "$j" | json_get source.dirty)" true
	patch=$(echo "$j" | json_get source.patch)
	xtrk cat-object $patch > p.diff
	grep -q "changed" p.diff && grep -q "momentum" p.diff
	git diff HEAD > want.diff
	rm -rf /tmp/xtrk-apply-$$ && git worktree add -q /tmp/xtrk-apply-$$ HEAD 2>/dev/null
	(cd /tmp/xtrk-apply-$$ && git apply "$OLDPWD/p.diff")
	cmp /tmp/xtrk-apply-$$/train.py train.py
	cmp /tmp/xtrk-apply-$$/config.py config.py
	git worktree remove --force /tmp/xtrk-apply-$$
'
check "untracked files are named, the store is not" '
	j=$(xtrk show --json $(xtrk commit-run))
	expect_contains "$j" "untracked.txt"
	expect_not_contains "$(echo "$j" | json_get source.untracked)" ".xtrk"
'
check "a detached HEAD has no branch" '
	git stash -q -u && git checkout -q HEAD~1
	j=$(xtrk show --json $(xtrk commit-run))
	expect_eq "$(echo "$j" | json_get source.branch)" null
	expect_eq "$(echo "$j" | json_get source.commit)" "$(git rev-parse HEAD)"
	git checkout -q main && git stash pop -q
'
check "a repository with no commit yet records the branch and no commit" '
	mkdir ../fresh && cd ../fresh && git init -q . && echo a > a.py && git add a.py && new_ws
	j=$(xtrk show --json $(xtrk commit-run))
	expect_eq "$(echo "$j" | json_get source.commit)" null
	expect_eq "$(echo "$j" | json_get source.branch)" main
	expect_eq "$(echo "$j" | json_get source.dirty)" true
'
check "the author comes from git config" '
	j=$(xtrk show --json $(xtrk commit-run))
	expect_eq "$(echo "$j" | json_get author)" "Test User <test@example.com>"
'
check "a repository that git cannot open is an error, never a run without source" '
	mkdir "$TRASH/broken" && cd "$TRASH/broken" && new_ws
	echo "gitdir: $TRASH/nowhere" > .git
	before=$(store_listing)
	expect_exit 1 xtrk commit-run 2>err
	expect_contains "$(cat err)" "cannot open the git repository"
	expect_not_contains "$(cat err)" "records no source"
	expect_eq "$(store_listing)" "$before"
'
finish
