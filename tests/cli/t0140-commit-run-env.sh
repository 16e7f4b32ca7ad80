#!/bin/sh
# commit-run environment capture: system facts, allowed variables, secrets never recorded, Python.
. "$(dirname "$0")/lib.sh"

new_ws

check "OS, host, CPU, memory and xtrk version are recorded" '
	j=$(xtrk show --json $(xtrk commit-run))
	expect_eq "$(echo "$j" | json_get env.os.name)" Linux
	expect_eq "$(echo "$j" | json_get env.os.kernel)" "$(uname -r)"
	expect_eq "$(echo "$j" | json_get env.host)" "$(hostname)"
	expect_eq "$(echo "$j" | json_get env.cpu.cores)" "$(getconf _NPROCESSORS_ONLN)"
	test "$(echo "$j" | json_get env.memory_bytes)" -gt 0
	expect_eq "$(echo "$j" | json_get env.xtrk)" "$(xtrk --version | cut -d" " -f2)"
	echo "$j" | json_get env.gpus | grep "^\[" >/dev/null
'
check "the user name is right in every run (no race between capture threads)" '
	me=$(id -un)
	i=0; while [ $i -lt 25 ]; do
		id=$(xtrk commit-run -e users -d . 2>/dev/null)
		expect_eq "$(xtrk show --json $id | json_get env.user)" "$me"
		i=$((i+1))
	done
	xtrk fsck
'
check "allowed variables are recorded, secret-looking ones never" '
	id=$(CUDA_VISIBLE_DEVICES=0,1 PYTHONHASHSEED=3 OMP_NUM_THREADS=4 HF_TOKEN=hf_abc123 \
		CUDA_SECRET_THING=zzz9 XTRK_API_KEY=k3y MY_PASSWORD=pw1 UNRELATED=1 xtrk commit-run)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get env.vars.CUDA_VISIBLE_DEVICES)" 0,1
	expect_eq "$(echo "$j" | json_get env.vars.PYTHONHASHSEED)" 3
	expect_eq "$(echo "$j" | json_get env.vars.OMP_NUM_THREADS)" 4
	for s in hf_abc123 zzz9 k3y pw1 HF_TOKEN UNRELATED; do expect_not_contains "$j" "$s"; done
	xtrk cat-object $id > raw
	for s in hf_abc123 zzz9 k3y pw1; do ! grep -q "$s" raw; done
'
check "Python version and packages are captured when enabled" '
	git config -f .xtrk/config capture.python true
	j=$(xtrk show --json $(xtrk commit-run))
	expect_eq "$(echo "$j" | json_get env.python.version)" "$(python3 -c "import platform; print(platform.python_version())")"
	echo "$j" | json_get env.python.packages | grep "^{" >/dev/null
'
check "capture.python = false records null" '
	git config -f .xtrk/config capture.python false
	expect_eq "$(xtrk show --json $(xtrk commit-run) | json_get env.python)" null
'
check "a broken capture.python value is a clear error" '
	git config -f .xtrk/config capture.python maybe
	err=$(xtrk commit-run 2>&1 || true)
	git config -f .xtrk/config capture.python false
	expect_contains "$err" "capture.python"
'
check "a fake nvidia-smi on PATH is read for GPU, driver and CUDA" '
	mkdir -p fakebin
	cat > fakebin/nvidia-smi <<-EOS
	#!/bin/sh
	case "\$1" in
	--query-gpu=*) echo "NVIDIA H100 80GB HBM3, 550.54.15, 81559, 00000000:18:00.0" ;;
	*) echo "| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4 |" ;;
	esac
	EOS
	chmod +x fakebin/nvidia-smi
	j=$(PATH=$PWD/fakebin:$PATH xtrk show --json $(PATH=$PWD/fakebin:$PATH xtrk commit-run))
	expect_eq "$(echo "$j" | json_get env.gpus.0.name)" "NVIDIA H100 80GB HBM3"
	expect_eq "$(echo "$j" | json_get env.gpus.0.driver)" 550.54.15
	expect_eq "$(echo "$j" | json_get env.gpus.0.cuda)" 12.4
	expect_eq "$(echo "$j" | json_get env.cuda.driver)" 12.4
'
check "the Python answer is cached until a package folder changes" '
	mkdir -p pybin site
	cat > pybin/python3 <<-EOS
	#!/bin/sh
	echo run >> "$PWD/probe-calls"
	echo "{\"version\": \"3.99.0\", \"packages\": {\"torch\": \"9.9\"}, \"paths\": [\"$PWD/site\"]}"
	EOS
	chmod +x pybin/python3
	git config -f .xtrk/config capture.python true
	rm -f .xtrk/cache/python.json probe-calls
	for i in 1 2 3; do PATH=$PWD/pybin:$PATH xtrk commit-run >/dev/null; done
	expect_eq "$(wc -l < probe-calls)" 1
	sleep 0.01 && mkdir site/newpkg-1.0.dist-info
	id=$(PATH=$PWD/pybin:$PATH xtrk commit-run)
	expect_eq "$(wc -l < probe-calls)" 2
	expect_eq "$(xtrk show --json $id | json_get env.python.packages.torch)" 9.9
	git config -f .xtrk/config capture.python false
'
finish
