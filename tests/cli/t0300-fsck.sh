#!/bin/sh
# xtrk fsck: clean stores pass; flipped bytes, truncation and missing objects are named by ID.
. "$(dirname "$0")/lib.sh"

new_ws
mkdir data
for i in 1 2 3; do head -c 3000 /dev/urandom > data/f$i; done
head -c 1000000 /dev/urandom > model.bin
run=$(xtrk commit-run -d data --model model.bin)
model=$(xxhsum -H2 model.bin | cut -d" " -f1)
loose=.xtrk/objects/$(echo $model | cut -c1-2)/$(echo $model | cut -c3-)
fresh() { rm -rf .xtrk && new_ws && xtrk commit-run -d data --model model.bin >/dev/null; }

check "a clean store: exit 0, summary on stderr" '
	xtrk fsck 2>err
	expect_contains "$(cat err)" "0 problems"
	xtrk fsck --read-data
'
check "a flipped byte in a loose object is found by --read-data and named" '
	chmod u+w $loose
	flip_byte $loose 5000
	out=$(xtrk fsck --read-data 2>/dev/null || true)
	expect_contains "$out" "error: $model:"
	expect_contains "$out" "does not match its ID"
	expect_exit 3 xtrk fsck --read-data
'
check "a truncated object is found even without --read-data" '
	fresh
	chmod u+w $loose && truncate -s 500000 $loose
	out=$(xtrk fsck 2>/dev/null || true)
	expect_contains "$out" "$model"
	expect_exit 3 xtrk fsck
'
check "a flipped byte in a pack is found by --read-data" '
	fresh
	p=$(ls .xtrk/objects/pack/*.pack | head -1)
	chmod u+w $p
	size=$(stat -c %s $p)
	flip_byte $p $((size / 2))
	out=$(xtrk fsck --read-data 2>/dev/null || true)
	echo "$out" | grep -Eq "error: [0-9a-f]{32}: "
	expect_exit 3 xtrk fsck --read-data
'
check "a missing object is named with the run that needs it" '
	fresh
	rm -f $loose
	out=$(xtrk fsck 2>/dev/null || true)
	expect_contains "$out" "$model"
	expect_contains "$out" "missing"
	expect_contains "$out" "model"
	expect_exit 3 xtrk fsck
'
check "a damaged pack index is reported" '
	fresh
	i=$(ls .xtrk/objects/pack/*.idx | head -1)
	chmod u+w $i && printf "XXXX" | dd of=$i bs=1 seek=20 conv=notrunc 2>/dev/null
	out=$(xtrk fsck 2>/dev/null || true)
	expect_contains "$out" "checksum"
'
check "a tag naming a missing run is reported" '
	fresh
	echo 0123456789abcdef0123456789abcdef > .xtrk/refs/tags/ghost
	out=$(xtrk fsck 2>/dev/null || true)
	expect_contains "$out" "tag '"'"'ghost'"'"'"
'
check "leftover temporary files are mentioned, not counted as problems" '
	fresh
	echo junk > .xtrk/objects/tmp/obj-abandoned
	xtrk fsck 2>err
	expect_contains "$(cat err)" "1 temporary file"
'
check "a missing file inside a dataset folder is named with the dataset that needs it" '
	fresh
	mkdir -p big && head -c 1000000 /dev/urandom > big/inner.bin
	xtrk commit-run -d big >/dev/null
	inner=$(xxhsum -H2 big/inner.bin | cut -d" " -f1)
	obj=.xtrk/objects/$(echo $inner | cut -c1-2)/$(echo $inner | cut -c3-)
	test -f $obj
	xtrk fsck 2>/dev/null
	rm -f $obj
	out=$(xtrk fsck 2>/dev/null || true)
	expect_contains "$out" "$inner"
	expect_contains "$out" "missing"
	expect_contains "$out" "dataset '"'"'big'"'"'"
	expect_exit 3 xtrk fsck
	rm -rf big
'
finish
