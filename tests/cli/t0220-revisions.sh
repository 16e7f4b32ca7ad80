#!/bin/sh
# Revisions: full ID, unique prefix, ambiguous prefix, tag, experiment, NAME~N.
. "$(dirname "$0")/lib.sh"

new_ws
r1=$(xtrk commit-run -e exp -m one)
r2=$(xtrk commit-run -e exp -m two --tag chosen)
r3=$(xtrk commit-run -e exp -m three)
other=$(xtrk commit-run -e other -m four)

id_of() { xtrk show --json "$1" | json_get id; }

check "a full ID, upper or lower case" '
	expect_eq "$(id_of $r1)" "$r1"
	expect_eq "$(id_of $(echo $r1 | tr a-f A-F))" "$r1"
'
check "a unique prefix of 4 or more digits" '
	expect_eq "$(id_of $(echo $r2 | cut -c1-8))" "$r2"
'
check "a prefix under 4 digits is not a prefix" '
	expect_exit 1 xtrk show $(echo $r2 | cut -c1-3)
'
check "an experiment name is its newest run; NAME~N counts back" '
	expect_eq "$(id_of exp)" "$r3"
	expect_eq "$(id_of exp~0)" "$r3"
	expect_eq "$(id_of exp~1)" "$r2"
	expect_eq "$(id_of exp~2)" "$r1"
	expect_eq "$(id_of other)" "$other"
'
check "NAME~N past the oldest run is an error" '
	err=$(xtrk show exp~3 2>&1 || true)
	expect_contains "$err" "has only 3 runs"
	expect_exit 2 xtrk show || true
	err=$(xtrk show exp~x 2>&1 || true)
	expect_contains "$err" "NAME~N"
'
check "a tag names its run" '
	expect_eq "$(id_of chosen)" "$r2"
'
check "an ambiguous prefix lists the candidates" '
	p=$(echo $r1 | cut -c1-4)
	twin=${p}ffffffffffffffffffffffffffff
	[ "$twin" != "$r1" ] || twin=${p}0000000000000000000000000000
	cp .xtrk/refs/experiments/exp/$r1 .xtrk/refs/experiments/exp/$twin
	err=$(xtrk show $p 2>&1 || true)
	rm .xtrk/refs/experiments/exp/$twin
	expect_contains "$err" "is ambiguous"
	expect_contains "$err" "$r1"
	expect_contains "$err" "$twin"
'
check "an unknown name is an error" '
	expect_exit 1 xtrk show nothing-here
'
finish
