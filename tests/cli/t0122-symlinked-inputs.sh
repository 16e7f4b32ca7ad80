#!/bin/sh
# Datasets and models given by symbolic links, and links inside recorded folders: the data the run
# read is recorded, never the text of a link; status and checkout agree.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir ckpt && head -c 5000 /dev/urandom > ckpt/epoch10.pt && ln -s ckpt/epoch10.pt model.pt
model_id=$(xxhsum -H2 ckpt/epoch10.pt | cut -d" " -f1)
mkdir "$TRASH/elsewhere" && head -c 3000 /dev/urandom > "$TRASH/elsewhere/big.bin"
mkdir "$TRASH/elsewhere/sub" && echo deep > "$TRASH/elsewhere/sub/deep.txt"
mkdir data && echo in > data/in.txt
ln -s in.txt data/alias
ln -s "$TRASH/elsewhere/big.bin" data/ext.bin
ln -s "$TRASH/elsewhere/sub" data/extdir
ln -s nowhere data/dangling

check "a model given by a link records its target's content, and says so" '
	r=$(xtrk commit-run -e s --model model.pt 2>err)
	expect_contains "$(cat err)" "'"'"'model.pt'"'"' is a symbolic link to '"'"'ckpt/epoch10.pt'"'"'"
	expect_eq "$(xtrk show --json $r | json_get models.0.id)" "$model_id"
	expect_eq "$(xtrk show --json $r | json_get models.0.bytes)" 5000
	echo $r > r1
'
check "status sees a change of the link target; checkout writes the content as a plain file" '
	r=$(cat r1)
	xtrk status $r > out 2>err
	expect_contains "$(cat out)" "matches"
	expect_eq "$(cat err)" ""
	cp ckpt/epoch10.pt keep && echo more >> ckpt/epoch10.pt
	xtrk status $r > out 2>/dev/null || true
	expect_contains "$(cat out)" "modified"
	cp keep ckpt/epoch10.pt
	xtrk checkout $r -C "$TRASH/co1" --no-source 2>/dev/null
	test -f "$TRASH/co1/model.pt" && test ! -L "$TRASH/co1/model.pt"
	expect_eq "$(xxhsum -H2 "$TRASH/co1/model.pt" | cut -d" " -f1)" "$model_id"
'
check "a link retargeted to other data is a change" '
	r=$(cat r1)
	head -c 100 /dev/urandom > ckpt/epoch11.pt && ln -sfn ckpt/epoch11.pt model.pt
	xtrk status $r > out 2>/dev/null || true
	expect_contains "$(cat out)" "modified"
	ln -sfn ckpt/epoch10.pt model.pt
'
check "a dataset folder given by a link records the folder it leads to" '
	ln -s data datalink
	r=$(xtrk commit-run -e s -d datalink 2>err)
	expect_contains "$(cat err)" "recorded the content of its target"
	expect_eq "$(xtrk show --json $r | json_get datasets.0.kind)" tree
	rm datalink
'
check "inside a folder: a link to outside is followed, one inside stays a link, a dangling one is kept with a warning" '
	r=$(xtrk commit-run -e s -d data 2>err)
	expect_contains "$(cat err)" "data/ext.bin"
	expect_contains "$(cat err)" "data/extdir"
	expect_contains "$(cat err)" "'"'"'data/dangling'"'"' is a symbolic link to '"'"'nowhere'"'"', which does not exist"
	expect_not_contains "$(cat err)" "data/alias"
	xtrk checkout $r -C "$TRASH/co2" --no-source 2>/dev/null
	test -f "$TRASH/co2/data/ext.bin" && test ! -L "$TRASH/co2/data/ext.bin"
	cmp "$TRASH/co2/data/ext.bin" "$TRASH/elsewhere/big.bin"
	test -d "$TRASH/co2/data/extdir" && test ! -L "$TRASH/co2/data/extdir"
	expect_eq "$(cat "$TRASH/co2/data/extdir/deep.txt")" deep
	expect_eq "$(readlink "$TRASH/co2/data/alias")" in.txt
	expect_eq "$(readlink "$TRASH/co2/data/dangling")" nowhere
	echo $r > r2
'
check "status follows links inside a folder the same way, quietly" '
	r=$(cat r2)
	xtrk status $r > out 2>err
	expect_contains "$(cat out)" "matches"
	expect_not_contains "$(cat err)" "symbolic link"
	echo changed > "$TRASH/elsewhere/sub/deep.txt"
	xtrk status $r > out 2>/dev/null || true
	expect_contains "$(cat out)" "extdir/deep.txt"
	echo deep > "$TRASH/elsewhere/sub/deep.txt"
'
check "a link to a folder that holds it is refused, nothing is recorded" '
	mkdir loopy && echo a > loopy/a && ln -s "$TRASH" loopy/up
	before=$(store_listing)
	expect_exit 1 xtrk commit-run -e s -d loopy 2>err
	expect_contains "$(cat err)" "'"'"'loopy/up'"'"' is a symbolic link"
	expect_contains "$(cat err)" "a folder that holds it"
	expect_eq "$(store_listing)" "$before"
	rm -r loopy
'
check "a model given by a dangling link is an error naming the link" '
	ln -s ckpt/missing.pt gone.pt
	before=$(store_listing)
	expect_exit 1 xtrk commit-run -e s --model gone.pt 2>err
	expect_contains "$(cat err)" "gone.pt"
	expect_contains "$(cat err)" "ckpt/missing.pt"
	expect_eq "$(store_listing)" "$before"
	rm gone.pt
'
finish
