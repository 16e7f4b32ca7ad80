#!/bin/sh
# xtrk hash-object: IDs equal xxhsum -H2; -w stores blobs that read back byte for byte.
. "$(dirname "$0")/lib.sh"

new_ws
: > empty
printf 'hello' > small
head -c 3000000 /dev/urandom > big.bin
yes "a compressible line of text" | head -c 2000000 > text.txt

check "IDs match xxhsum -H2 for empty, small, large and text files" '
	for f in empty small big.bin text.txt; do
		expect_eq "$(xtrk hash-object $f)" "$(xxhsum -H2 $f | cut -d" " -f1)"
	done
'
check "-w stores each file and cat-object gives the same bytes" '
	ids=$(xtrk hash-object -w empty small big.bin text.txt)
	set -- empty small big.bin text.txt
	for id in $ids; do
		xtrk cat-object $id > out
		cmp out "$1"
		shift
	done
'
check "compressible data is stored compressed, random data raw" '
	t=$(xtrk hash-object text.txt); b=$(xtrk hash-object big.bin)
	tsize=$(stat -c %s .xtrk/objects/$(echo $t | cut -c1-2)/$(echo $t | cut -c3-))
	bsize=$(stat -c %s .xtrk/objects/$(echo $b | cut -c1-2)/$(echo $b | cut -c3-))
	test "$tsize" -lt 200000
	expect_eq "$bsize" "$((3000000 + 32))"
'
check "objects are read-only once written" '
	b=$(xtrk hash-object big.bin)
	expect_eq "$(stat -c %a .xtrk/objects/$(echo $b | cut -c1-2)/$(echo $b | cut -c3-))" "444"
'
check "writing the same content again changes nothing" '
	before=$(store_listing)
	xtrk hash-object -w big.bin small >/dev/null
	expect_eq "$(store_listing)" "$before"
'
check "a missing file is a clear error, exit 1" '
	err=$(xtrk hash-object nope 2>&1 || true)
	expect_contains "$err" "cannot open '"'"'nope'"'"'"
	expect_exit 1 xtrk hash-object nope
'
check "hash-object without -w needs no workspace" '
	cd / && xtrk hash-object "$TRASH/small" >/dev/null
'
finish
