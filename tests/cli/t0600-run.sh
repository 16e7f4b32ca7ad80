#!/bin/sh
# xtrk run: streams and keeps output, records exit status and resources, collects XTRK_RUN_DIR.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
cat > job.sh <<'EOS'
#!/bin/sh
echo "to stdout"
echo "to stderr" >&2
for i in 0 1 2; do echo "{\"step\": $i, \"loss\": 0.$((9 - i))}" >> "$XTRK_RUN_DIR/metrics.jsonl"; done
echo '{"acc": 0.8}' > "$XTRK_RUN_DIR/metrics.json"
echo '{"lr": 0.1, "layers": {"n": 2}}' > "$XTRK_RUN_DIR/params.json"
echo weights > model.bin
exit ${1:-0}
EOS
chmod +x job.sh

check "output passes through unchanged and the command's status is the exit status" '
	set +e; xtrk run -e job --model model.bin -- ./job.sh 0 > out 2> err; rc=$?; set -e
	expect_eq $rc 0
	expect_eq "$(cat out)" "to stdout"
	expect_contains "$(cat err)" "to stderr"
	expect_contains "$(cat err)" "xtrk: recorded run"
'
check "-q records the run without a word on stderr of its own" '
	set +e; xtrk run -q -e quiet -- ./job.sh 0 > out 2> err; rc=$?; set -e
	expect_eq $rc 0
	expect_eq "$(cat out)" "to stdout"
	expect_eq "$(cat err)" "to stderr"
	expect_eq "$(xtrk show --json quiet | json_get exit_code)" 0
	set +e; xtrk run -q -e quiet -- ./job.sh 3 > out 2> err; rc=$?; set -e
	expect_eq $rc 3
	expect_eq "$(cat err)" "to stderr"
	expect_eq "$(xtrk show --json quiet | json_get exit_code)" 3
'
check "the run has argv, cwd, exit code, resources, logs, params, metrics, series and model" '
	j=$(xtrk show --json job)
	expect_eq "$(echo "$j" | json_get command.argv.0)" ./job.sh
	expect_eq "$(echo "$j" | json_get command.cwd)" .
	expect_eq "$(echo "$j" | json_get exit_code)" 0
	expect_eq "$(echo "$j" | json_get status)" succeeded
	expect_eq "$(echo "$j" | json_get params.lr)" 0.1
	expect_eq "$(echo "$j" | json_get params.layers.n)" 2
	expect_eq "$(echo "$j" | json_get metrics.loss)" 0.7
	expect_eq "$(echo "$j" | json_get metrics.acc)" 0.8
	test "$(echo "$j" | json_get resources.max_rss_bytes)" -gt 0
	expect_eq "$(xtrk cat-object $(echo "$j" | json_get logs.stdout))" "to stdout"
	expect_eq "$(xtrk cat-object $(echo "$j" | json_get logs.stderr))" "to stderr"
	expect_eq "$(xtrk cat-object $(echo "$j" | json_get series) | wc -l)" 3
	expect_eq "$(echo "$j" | json_get models.0.id)" "$(xxhsum -H2 model.bin | cut -d" " -f1)"
	test -z "$(ls .xtrk/tmp)"
'
check "a failing command: recorded as failed, its status passed on" '
	set +e; xtrk run -e fails -- ./job.sh 5 >/dev/null 2>&1; rc=$?; set -e
	expect_eq $rc 5
	expect_eq "$(xtrk show --json fails | json_get status)" failed
	expect_eq "$(xtrk show --json fails | json_get exit_code)" 5
'
check "a command that does not exist: exit 127, a failed run with the reason" '
	set +e; err=$(xtrk run -e missing -- no-such-program-xyz 2>&1); rc=$?; set -e
	expect_eq $rc 127
	expect_contains "$err" "cannot run '"'"'no-such-program-xyz'"'"'"
	j=$(xtrk show --json missing)
	expect_eq "$(echo "$j" | json_get status)" failed
	expect_contains "$(echo "$j" | json_get error)" "No such file or directory"
'
check "a malformed metrics line: warning naming the line, the run kept with the valid ones" '
	cat > bad.sh <<-EOS
	#!/bin/sh
	echo "{\"step\": 0, \"loss\": 1}" >> "\$XTRK_RUN_DIR/metrics.jsonl"
	echo "{oops" >> "\$XTRK_RUN_DIR/metrics.jsonl"
	echo "{\"step\": 2, \"loss\": 0.5}" >> "\$XTRK_RUN_DIR/metrics.jsonl"
	EOS
	chmod +x bad.sh
	err=$(xtrk run -e badline -- ./bad.sh 2>&1 >/dev/null)
	expect_contains "$err" "metrics.jsonl:2:"
	expect_contains "$err" "1 malformed line skipped"
	expect_eq "$(xtrk show --json badline | json_get metrics.loss)" 0.5
'
check "a child killed by a signal is recorded with the signal" '
	set +e; xtrk run -e killed -- sh -c "kill -KILL \$\$" >/dev/null 2>&1; rc=$?; set -e
	expect_eq $rc 137
	expect_contains "$(xtrk show --json killed | json_get error)" "killed by signal 9"
'
check "SIGTERM to xtrk is forwarded to the command, and the run is still recorded" '
	"$XTRK_BIN" run -e stopped -- sleep 30 >/dev/null 2>&1 &  # not the shell function: $! must be xtrk
	pid=$!
	# Wait until the command is running (its run folder exists), however loaded the machine is.
	n=0; while [ -z "$(ls .xtrk/tmp 2>/dev/null)" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done
	sleep 0.2
	kill -TERM $pid
	set +e; wait $pid; rc=$?; set -e
	expect_eq $rc 143
	expect_eq "$(xtrk show --json stopped | json_get status)" failed
	expect_contains "$(xtrk show --json stopped | json_get error)" "signal 15"
'
check "gigabytes of output stream through with bounded memory" '
	# A 400 MB address-space limit proves xtrk never holds the output; AddressSanitizer
	# reserves terabytes of address space, so under it only the streaming is checked.
	if ldd "$XTRK_BIN" | grep libasan >/dev/null; then lim=unlimited; else lim=400000; fi
	( ulimit -v $lim; xtrk run -e chatty -- sh -c "head -c 300000000 /dev/zero" > /dev/null 2>&1 )
	expect_eq "$(xtrk cat-object -s $(xtrk show --json chatty | json_get logs.stdout))" 300000000
'
check "the command keeps its own options; PYTHONHASHSEED becomes the seed" '
	PYTHONHASHSEED=11 xtrk run -e opts -- sh -c "echo \$0 \$1" sh -x > out 2>/dev/null
	expect_eq "$(cat out)" "sh -x"
	expect_eq "$(xtrk show --json opts | json_get seed)" 11
'
check "the command reads the stdin given to xtrk, and writes stdout and stderr apart" '
	printf "typed\n" | xtrk run -e stdin -- sh -c "read x; echo got \$x; echo apart >&2" > out 2> err
	expect_eq "$(cat out)" "got typed"
	expect_contains "$(cat err)" apart
	expect_eq "$(xtrk cat-object -p $(xtrk show --json stdin | json_get logs.stdout))" "got typed"
	expect_eq "$(xtrk cat-object -p $(xtrk show --json stdin | json_get logs.stderr))" apart
'
check "usage errors" '
	expect_exit 2 xtrk run
	expect_exit 2 xtrk run --bogus -- true
'
finish
