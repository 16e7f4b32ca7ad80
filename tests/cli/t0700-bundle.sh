#!/bin/sh
# xtrk bundle: the colleague story (no access to the original repository), formats, --no-data, repeats.
. "$(dirname "$0")/lib.sh"

mkdir origin && cd origin
new_git_repo
new_ws
mkdir -p data/train/sub data/test
i=0; while [ $i -lt 20 ]; do head -c 5000 /dev/urandom > data/train/f$i; i=$((i+1)); done
echo deep > data/train/sub/deep.txt
printf 'x,y\n1,2\n' > data/test/t.csv
head -c 1500000 /dev/urandom > model.bin
printf 'lr: 0.1\nepochs: 3\n' > params.yaml
echo "# uncommitted tweak" >> train.py
run1=$(xtrk commit-run -e mnist -P params.yaml -d train=data/train -d test=data/test --model model.bin \
	--metric acc=0.9 --tag baseline --seed 7)
echo more >> data/test/t.csv
run2=$(xtrk commit-run -e mnist -P params.yaml -d train=data/train -d test=data/test --model model.bin --metric acc=0.93)
( cd data && find . -type f -exec xxhsum -H2 {} + | sort -k2 ) > "$TRASH/want-data"
cp data/test/t.csv "$TRASH/want-t2.csv"
git stash -q && git stash apply -q # the tree stays dirty; the stash proves nothing is needed from it later
cp train.py "$TRASH/want-train.py"
want_model=$(xxhsum -H2 model.bin | cut -d" " -f1)
cd "$TRASH"

check "bundle create writes a tar.gz with the run book, manifest, summaries, objects and source" '
	xtrk -C origin bundle create -o b.tar.gz --with-source $run1 $run2 2>err
	expect_contains "$(cat err)" "2 runs"
	tar tzf b.tar.gz > list
	expect_eq "$(sed -n 1p list)" RUNBOOK.md
	expect_eq "$(sed -n 2p list)" report.html
	expect_eq "$(sed -n 3p list)" xtrk-bundle.json
	grep -qx "runs/$run1.json" list && grep -qx "objects/$run1.run" list
	grep -qx "objects/$want_model.blob" list && grep -qx source.pack list
'
check "RUNBOOK.md tells a person what ran and how to rebuild it" '
	tar xzf b.tar.gz RUNBOOK.md
	expect_contains "$(cat RUNBOOK.md)" "## Run $run1"
	expect_contains "$(cat RUNBOOK.md)" "xtrk checkout $run1     # a git repository at commit"
	expect_contains "$(cat RUNBOOK.md)" "$want_model"
	expect_contains "$(cat RUNBOOK.md)" "uncommitted changes recorded as patch"
'
check "the run book writes memory in binary units and the distribution version once" '
	xtrk -C origin show --json $run1 > r1.json
	python3 - r1.json RUNBOOK.md <<-PY
	import json, re, sys
	env = json.load(open(sys.argv[1]))["env"]
	book = open(sys.argv[2]).read()
	os_ = env["os"]
	distro, version = os_.get("distro") or "", os_.get("distro_version") or ""
	name = distro if version in distro else distro + " " + version
	want = "- OS: %s (%s), host " % (name, os_.get("kernel") or "")
	assert want in book, (want, [l for l in book.splitlines() if l.startswith("- OS:")])
	cpu = [l for l in book.splitlines() if l.startswith("- CPU:")][0]
	m = re.search(r"; memory ([0-9.]+) (B|KiB|MiB|GiB|TiB|PiB|EiB)$", cpu)
	assert m, cpu
	unit = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"].index(m.group(2))
	assert abs(float(m.group(1)) * 1024 ** unit - env["memory_bytes"]) <= 0.05 * 1024 ** unit + 1, (cpu, env["memory_bytes"])
	assert "bytes" not in cpu, cpu
	PY
'
check "the colleague story: a fresh folder, no origin repository, import, checkout, same bytes" '
	mv origin origin.hidden
	mkdir colleague && cd colleague && new_ws
	xtrk bundle verify ../b.tar.gz 2>err
	expect_contains "$(cat err)" "0 problems"
	xtrk bundle import ../b.tar.gz 2>err
	expect_contains "$(cat err)" "2 runs (2 new)"
	xtrk fsck --read-data
	xtrk checkout $run2 -C rebuilt 2>err
	( cd rebuilt/data && find . -type f -exec xxhsum -H2 {} + | sort -k2 ) > got-data
	cmp "$TRASH/want-data" got-data
	expect_eq "$(xxhsum -H2 rebuilt/model.bin | cut -d" " -f1)" "$want_model"
	cmp rebuilt/train.py "$TRASH/want-train.py"
	cmp rebuilt/config.py "$TRASH/origin.hidden/config.py"
	expect_eq "$(xtrk show $run1 --json | json_get seed)" 7
	expect_eq "$(xtrk show baseline --json | json_get id)" "$run1"
	cd "$TRASH" && mv origin.hidden origin
'
check "importing the same bundle again is a no-op" '
	cd colleague
	before=$(store_listing)
	xtrk bundle import ../b.tar.gz 2>err
	expect_contains "$(cat err)" "(0 new)"
	expect_eq "$(store_listing)" "$before"
'
check "overlapping bundles keep one copy of each object" '
	xtrk -C origin bundle create -o one.tar $run1 2>/dev/null
	xtrk -C origin bundle create -o two.tar.zst $run2 2>/dev/null
	mkdir overlap && cd overlap && new_ws
	xtrk bundle import ../one.tar 2>/dev/null
	n1=$(find .xtrk/objects -type f -name "*" ! -path "*/tmp/*" | wc -l)
	xtrk bundle import ../two.tar.zst 2>err
	expect_contains "$(cat err)" "new"
	xtrk fsck --read-data
	expect_eq "$(xtrk log --format json | json_get 0.id)" "$run2"
	# the model is one object, whatever the number of runs that name it
	expect_eq "$(find .xtrk/objects -name "$(echo $want_model | cut -c3-)" | wc -l)" 1
'
check "a .tar.zst and a .tar read back the same as a .tar.gz" '
	xtrk -C origin bundle create -o z.tar.zst $run1 2>/dev/null
	xtrk bundle verify z.tar.zst 2>/dev/null
	xtrk bundle verify one.tar 2>/dev/null
	head -c 6 z.tar.zst | od -An -tx1 | grep "28 b5 2f fd" >/dev/null
'
check "--no-data leaves data blobs out; fsck knows they are absent on purpose" '
	xtrk -C origin bundle create -o meta.tar --no-data $run1 2>/dev/null
	tar tf meta.tar > list
	! grep -q "$want_model" list
	mkdir meta && cd meta && new_ws
	xtrk bundle import ../meta.tar 2>err
	expect_contains "$(cat err)" "without data"
	xtrk fsck 2>err
	expect_contains "$(cat err)" "imported without data"
	expect_eq "$(xtrk show $run1 --json | json_get metrics.acc)" 0.9
	! xtrk checkout $run1 -C out --no-source 2>err
	expect_contains "$(cat err)" "imported without its data files"
	# importing the full bundle later completes the run
	xtrk bundle import ../one.tar 2>/dev/null
	xtrk fsck 2>err
	expect_not_contains "$(cat err)" "without data"
	xtrk checkout $run1 -C out --no-source 2>/dev/null
	expect_eq "$(xxhsum -H2 out/model.bin | cut -d" " -f1)" "$want_model"
'
check "checkout in place into a git repository that lacks the commit copies it in from the bundle" '
	mkdir clone && cd clone && git init -q . && new_ws
	xtrk bundle import ../b.tar.gz 2>/dev/null
	xtrk checkout $run1 2>err
	cmp train.py "$TRASH/want-train.py"
	git cat-file -e "$(xtrk show $run1 --json | json_get source.commit)^{commit}"
	git log --oneline | grep second >/dev/null
'
check "verify names each problem and exits 3 on a damaged object" '
	mkdir dmg && tar xf one.tar -C dmg
	f=dmg/objects/$want_model.blob
	flip_byte $f 1000
	(cd dmg && tar cf ../dmg.tar RUNBOOK.md xtrk-bundle.json runs objects)
	expect_exit 3 xtrk bundle verify dmg.tar > out 2>/dev/null
	expect_contains "$(cat out)" "objects/$want_model.blob: content hashes to"
	mkdir d2 && cd d2 && new_ws
	before=$(store_listing)
	expect_exit 1 xtrk bundle import ../dmg.tar 2>err
	expect_contains "$(cat err)" "nothing was imported"
	expect_eq "$(store_listing)" "$before"
'
check "bad names and unknown runs are clear errors" '
	expect_exit 2 xtrk -C origin bundle create $run1
	expect_exit 1 xtrk -C origin bundle create -o x.zip $run1 2>err
	expect_contains "$(cat err)" ".tar, .tar.gz or .tar.zst"
	expect_exit 1 xtrk -C origin bundle create -o x.tar nosuchrun 2>err
	expect_contains "$(cat err)" "nosuchrun"
	expect_exit 1 xtrk -C origin bundle verify missing.tar 2>err
	test ! -e x.tar && test ! -e x.zip
'
check "a bundle that cannot be written is an error and leaves no temp file behind" '
	expect_exit 1 xtrk -C origin bundle create -o "$TRASH/nowhere/b.tar" $run1 2>err
	expect_contains "$(cat err)" "nowhere"
	test ! -e "$TRASH/nowhere"
	expect_eq "$(ls origin/.xtrk/objects/tmp)" ""
'
check "bundle -e EXP takes every run of an experiment" '
	xtrk -C origin bundle create -o all.tar -e mnist 2>err
	expect_contains "$(cat err)" "2 runs"
'
finish
