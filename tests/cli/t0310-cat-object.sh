#!/bin/sh
# xtrk cat-object: type, size, content, pretty runs; corrupt data never printed as good.
. "$(dirname "$0")/lib.sh"

new_ws
head -c 700000 /dev/urandom > big
echo small > small
b=$(xtrk hash-object -w big)
s=$(xtrk hash-object -w small)
run=$(xtrk commit-run -p a=1)

check "-t and -s" '
	expect_eq "$(xtrk cat-object -t $b)" blob
	expect_eq "$(xtrk cat-object -s $b)" 700000
	expect_eq "$(xtrk cat-object -t $run)" run
'
check "content comes back byte for byte" '
	xtrk cat-object $b | cmp - big
	xtrk cat-object $s | cmp - small
'
check "-p shows a run as indented JSON with its ID" '
	expect_eq "$(xtrk cat-object -p $run | json_get id)" "$run"
'
check "an unknown object is an error" '
	err=$(xtrk cat-object 00000000000000000000000000000000 2>&1 || true)
	expect_contains "$err" "not in the store"
	expect_exit 1 xtrk cat-object 00000000000000000000000000000000
'
check "a corrupt object is refused before any byte is printed" '
	f=.xtrk/objects/$(echo $b | cut -c1-2)/$(echo $b | cut -c3-)
	chmod u+w $f
	flip_byte $f 650000 && flip_byte $f 650001
	xtrk cat-object $b > out 2>err && exit 1
	expect_eq "$(stat -c %s out)" 0
	expect_contains "$(cat err)" "$b"
	expect_contains "$(cat err)" "corrupt"
'
finish
