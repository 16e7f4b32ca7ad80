#!/bin/sh
# xtrk logs: a run's kept stdout and stderr printed byte for byte after a check; runs without logs,
# damaged and missing logs are clear errors that print nothing of the log.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
# Output a terminal would act on: an escape sequence, a NUL, bytes that are not UTF-8, no final newline.
printf 'plain line\n\033[2J\033]0;title\007cleared\n\000nul\377\376end' > want-out
printf 'warning: one\n\033[31mred\033[0m\n' > want-err
cat > job.sh <<'EOS'
#!/bin/sh
cat want-out
cat want-err >&2
exit ${1:-0}
EOS
chmod +x job.sh
xtrk run -q -e job --tag first -- ./job.sh 0 >/dev/null 2>&1
run=$(xtrk show --json first | json_get id)

check "stdout is printed as recorded, byte for byte, with its control bytes raw" '
	xtrk logs $run > got
	cmp got want-out
'
check "--stderr prints the standard error log" '
	xtrk logs --stderr $run > got
	cmp got want-err
'
check "RUN may be a tag, an experiment, a prefix or NAME~N" '
	for r in first job $(echo $run | cut -c1-8) job~0; do
		xtrk logs $r > got && cmp got want-out
	done
'
check "an empty log prints nothing and succeeds" '
	xtrk run -q -e quiet -- true >/dev/null 2>&1
	expect_eq "$(xtrk logs quiet | wc -c)" 0
	expect_eq "$(xtrk logs --stderr quiet | wc -c)" 0
'
check "a run recorded with commit-run has no logs: a clear error, exit 1" '
	xtrk commit-run -q -e manual >/dev/null
	set +e; xtrk logs manual > out 2> err; rc=$?; set -e
	expect_eq $rc 1
	expect_eq "$(wc -c < out)" 0
	expect_contains "$(cat err)" "has no logs"
	expect_contains "$(cat err)" "xtrk run"
	expect_exit 1 xtrk logs --stderr manual
'
check "usage errors and unknown runs" '
	expect_exit 2 xtrk logs
	expect_exit 2 xtrk logs a b
	expect_exit 2 xtrk logs --stdin $run
	expect_exit 1 xtrk logs nosuchrun 2>err
	expect_contains "$(cat err)" "unknown run"
'
# A log big enough to be stored as its own (loose) object, to damage and remove.
head -c 1500000 /dev/urandom | base64 > big.txt
xtrk run -q -e big -- cat big.txt >/dev/null 2>&1
big=$(xtrk show --json big | json_get logs.stdout)
loose=.xtrk/objects/$(echo $big | cut -c1-2)/$(echo $big | cut -c3-)
check "a big log comes back whole" '
	test -f $loose
	xtrk logs big | cmp - big.txt
'
check "a damaged log is an error and not one byte of it is printed" '
	cp -p $loose saved && chmod u+w $loose
	flip_byte $loose $(( $(stat -c %s $loose) / 2 ))
	set +e; xtrk logs big > out 2> err; rc=$?; set -e
	cp saved $loose
	expect_eq $rc 1
	expect_eq "$(wc -c < out)" 0
	expect_contains "$(cat err)" "$big"
'
check "a log missing from the store is named, and show says it cannot show it" '
	mv $loose saved-missing
	set +e; xtrk logs big > out 2> err; rc=$?; set -e
	xtrk run -q -e bigfail -- sh -c "cat big.txt >&2; exit 1" >/dev/null 2>&1 || true
	bigerr=$(xtrk show --json bigfail | json_get logs.stderr)
	mv saved-missing $loose
	expect_eq $rc 1
	expect_eq "$(wc -c < out)" 0
	expect_contains "$(cat err)" "not in this store"
	expect_contains "$(cat err)" "$big"
	# the same content: the failed run'"'"'s stderr log is that object too
	expect_eq "$bigerr" "$big"
	mv $loose saved-missing
	set +e; out=$(xtrk show bigfail); rc=$?; set -e
	mv saved-missing $loose
	expect_eq $rc 0
	expect_contains "$out" "stderr:     (cannot be shown: "
	expect_contains "$out" "not in this store"
'
finish
