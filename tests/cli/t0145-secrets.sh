#!/bin/sh
# Secrets never recorded: secret-looking variables (a list of real-world names), credentials in
# URLs inside recorded values, git remotes, dataset provenance and command lines.
. "$(dirname "$0")/lib.sh"

# The tools and the lists of secrets live outside the workspace, where no capture sees them.
T=$TRASH/tools
mkdir -p "$T" ws
cd ws
new_git_repo
new_ws
echo '.xtrk/' > .gitignore

# Every secret below is a distinct word "S3kr1t<N>Q"; none may appear anywhere in the store, in
# any object (loose or packed, zlib-inflated), in the index, or in what show, export and
# cat-object print.
cat > "$T/scan.py" <<'PY'
import os, sys, zlib
needles = [l.strip().encode() for l in open(sys.argv[1]) if l.strip()]
texts = []
for root, dirs, files in os.walk(sys.argv[2]):
    for f in files:
        p = os.path.join(root, f)
        if os.path.islink(p):
            continue
        data = open(p, "rb").read()
        texts.append((p, data))
        # Every zlib stream in the file: loose objects, packs (xtrk's and git's), index segments.
        i = 0
        while True:
            i = data.find(b"\x78", i)
            if i < 0:
                break
            try:
                d = zlib.decompressobj()
                out = d.decompress(data[i:], 1 << 26)
                if out:
                    texts.append((p + "@" + str(i), out))
            except zlib.error:
                pass
            i += 1
for extra in sys.argv[3:]:
    texts.append((extra, open(extra, "rb").read()))
bad = 0
for n in needles:
    for name, t in texts:
        if n in t or n.lower() in t.lower():
            print("secret %s found in %s" % (n.decode(), name))
            bad = 1
            break
sys.exit(bad)
PY

# The store and every printed form of every run; secrets listed in "needles".
secrets_nowhere() {
	: > "$T/printed"
	for id in $(xtrk log --format csv --columns id | tail -n +2); do
		xtrk show --json $id >> "$T/printed"
		xtrk show $id >> "$T/printed"
		xtrk cat-object $id >> "$T/printed"
	done
	xtrk export >> "$T/printed"
	xtrk export --format csv >> "$T/printed"
	xtrk log >> "$T/printed"
	python3 "$T/scan.py" "$T/needles" .xtrk "$T/printed"
}

check "real-world secret variable names are never recorded; the legitimate ones are" '
	: > "$T/needles"
	n=0
	set -- AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID GITHUB_TOKEN GH_TOKEN \
		GITLAB_PAT GITLAB_TOKEN HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_API_KEY HF_HUB_TOKEN \
		WANDB_API_KEY OPENAI_API_KEY ANTHROPIC_API_KEY NPM_TOKEN PYPI_PASSWORD TWINE_PASSWORD \
		DOCKER_PASSWORD MLFLOW_TRACKING_PASSWORD MLFLOW_TRACKING_TOKEN AZURE_STORAGE_KEY \
		AZURE_CLIENT_SECRET AZURE_STORAGE_CONNECTION_STRING GOOGLE_APPLICATION_CREDENTIALS \
		SLACK_WEBHOOK_URL SENTRY_DSN TF_VAR_db_password TF_VAR_region TF_CLI_ARGS \
		TF_TOKEN_app_terraform_io KAGGLE_KEY COMET_API_KEY NEPTUNE_API_TOKEN \
		CUDA_PAT TORCH_PASS NCCL_PW JAX_PWD XLA_SESSION_ID XTRK_COOKIE HF_DSN OMP_AUTH \
		MKL_SIG TORCH_SIGNATURE TRANSFORMERS_CREDENTIALS CUDA_CREDS TF_PRIVATE_THING \
		TORCH_apiKey XTRK_accessToken HF_SSHKEY XTRK_CONN_STRING HF_WEBHOOK XTRK_SECRETS \
		PYTORCH_PASSPHRASE CUBLAS_JWT TF_BEARER HF_AUTHORIZATION XTRK_CLIENT_SECRET
	for name in "$@"; do
		n=$((n+1))
		echo "S3kr1t${n}Q" >> "$T/needles"
		export "$name=S3kr1t${n}Q"
	done
	echo "secret names tried: $#"
	test $# -ge 40
	CUDA_VISIBLE_DEVICES=0,1 TF_CPP_MIN_LOG_LEVEL=2 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=4 \
		PYTHONHASHSEED=7 NCCL_DEBUG=INFO TF_FORCE_GPU_ALLOW_GROWTH=true HF_HOME=/tmp/hfhome \
		XLA_FLAGS=--xla_dump_to=/tmp/x CUBLAS_WORKSPACE_CONFIG=:4096:8 \
		xtrk commit-run -m env > id
	for name in "$@"; do unset "$name"; done
	j=$(xtrk show --json $(cat id))
	expect_eq "$(echo "$j" | json_get env.vars.CUDA_VISIBLE_DEVICES)" 0,1
	expect_eq "$(echo "$j" | json_get env.vars.TF_CPP_MIN_LOG_LEVEL)" 2
	expect_eq "$(echo "$j" | json_get env.vars.TOKENIZERS_PARALLELISM)" false
	expect_eq "$(echo "$j" | json_get env.vars.OMP_NUM_THREADS)" 4
	expect_eq "$(echo "$j" | json_get env.vars.PYTHONHASHSEED)" 7
	expect_eq "$(echo "$j" | json_get env.vars.NCCL_DEBUG)" INFO
	expect_eq "$(echo "$j" | json_get env.vars.TF_FORCE_GPU_ALLOW_GROWTH)" true
	expect_eq "$(echo "$j" | json_get env.vars.HF_HOME)" /tmp/hfhome
	expect_eq "$(echo "$j" | json_get env.vars.XLA_FLAGS)" --xla_dump_to=/tmp/x
	expect_eq "$(echo "$j" | json_get env.vars.CUBLAS_WORKSPACE_CONFIG)" :4096:8
	expect_not_contains "$j" TF_VAR_
	secrets_nowhere
'

check "credentials in URLs inside allowed variables are removed, the rest of the URL kept" '
	: > "$T/needles"
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do echo "S3kr1tU${i}Q" >> "$T/needles"; done
	HF_ENDPOINT="https://bob:S3kr1tU1Q@hf.example.com/api" \
	XTRK_INDEX="--index-url https://ix:S3kr1tU2Q@pypi.example.com/simple --extra-index-url=https://S3kr1tU3Q@pypi2.example.com/simple" \
	TORCH_PKG="mypkg @ git+https://u:S3kr1tU4Q@git.example.com/x.git@v1" \
	HF_MIRROR="https://h.example.com/x?access_token=S3kr1tU5Q&private_token=S3kr1tU6Q&api_key=S3kr1tU7Q&page=2&sig=S3kr1tU8Q" \
	XTRK_S3="https://b.s3.amazonaws.com/k?X-Amz-Credential=S3kr1tU9Q&X-Amz-Signature=S3kr1tU10Q&X-Amz-Expires=60" \
	XTRK_OAUTH="https://app.example.com/cb?code=S3kr1tU11Q&state=ok#access_token=S3kr1tU12Q" \
	XTRK_DATABASE_URL="postgres://admin:S3kr1tU13Q@db.example.com:5432/prod" \
	XTRK_SLASHPW="https://u:pa/S3kr1tU14Q@git.example.com/o/r.git" \
	XTRK_LIST="a=https://u:S3kr1tU15Q@one.example.com,b=ssh://git:S3kr1tU16Q@two.example.com/r" \
	XTRK_SSH="ssh://git@keep.example.com/r.git" \
		xtrk commit-run -m urls > id
	j=$(xtrk show --json $(cat id))
	expect_eq "$(echo "$j" | json_get env.vars.HF_ENDPOINT)" https://hf.example.com/api
	expect_eq "$(echo "$j" | json_get env.vars.TORCH_PKG)" "mypkg @ git+https://git.example.com/x.git@v1"
	expect_contains "$(echo "$j" | json_get env.vars.XTRK_INDEX)" "--index-url https://pypi.example.com/simple"
	expect_contains "$(echo "$j" | json_get env.vars.HF_MIRROR)" "page=2"
	expect_contains "$(echo "$j" | json_get env.vars.XTRK_S3)" "X-Amz-Expires=60"
	expect_eq "$(echo "$j" | json_get env.vars.XTRK_DATABASE_URL)" postgres://db.example.com:5432/prod
	expect_eq "$(echo "$j" | json_get env.vars.XTRK_SSH)" ssh://git@keep.example.com/r.git
	secrets_nowhere
'

check "git remotes lose tokens in the query, passwords holding a slash and token user names" '
	: > "$T/needles"
	for i in 1 2 3 4 5; do echo "S3kr1tG${i}Q" >> "$T/needles"; done
	git remote add a "https://git.example.com/o/r.git?access_token=S3kr1tG1Q"
	git remote add b "https://user:pa/ss/S3kr1tG2Q@git.example.com/o/r.git"
	git remote add c "https://S3kr1tG3Q@github.com/o/r.git"
	git remote add d "https://x-access-token:S3kr1tG4Q@github.com/o/r.git"
	git remote add e "https://gitlab.example.com/o/r.git?private_token=S3kr1tG5Q&ref=main"
	git remote add f "git@github.com:o/r.git"
	xtrk commit-run -m remotes > id
	j=$(xtrk show --json $(cat id))
	expect_eq "$(echo "$j" | json_get source.remotes.a)" "https://git.example.com/o/r.git?access_token=REDACTED"
	expect_eq "$(echo "$j" | json_get source.remotes.c)" "https://github.com/o/r.git"
	expect_eq "$(echo "$j" | json_get source.remotes.e)" "https://gitlab.example.com/o/r.git?private_token=REDACTED&ref=main"
	expect_eq "$(echo "$j" | json_get source.remotes.f)" "git@github.com:o/r.git"
	secrets_nowhere
	for r in a b c d e f; do git remote remove $r; done
'

check "a dataset provenance URL and the recorded command line lose their secrets" '
	: > "$T/needles"
	for i in 1 2 3 4 5 6 7 8; do echo "S3kr1tC${i}Q" >> "$T/needles"; done
	echo x > data.csv
	xtrk commit-run -m cmd -d "data.csv@https://dl:S3kr1tC1Q@data.example.com/d.csv?sig=S3kr1tC2Q" \
		--command-json "{\"argv\": [\"python\", \"train.py\", \"--token=S3kr1tC3Q\", \"--password\", \"S3kr1tC4Q\",
			\"--data\", \"https://u:S3kr1tC5Q@h.example.com/x\", \"HF_TOKEN=S3kr1tC6Q\", \"db.password=S3kr1tC7Q\",
			\"--lr\", \"0.1\", \"--verbose\"]}" > id
	j=$(xtrk show --json $(cat id))
	expect_eq "$(echo "$j" | json_get datasets.0.source)" "https://data.example.com/d.csv?sig=REDACTED"
	expect_contains "$j" "--token=REDACTED"
	expect_contains "$j" "\"--lr\""
	expect_contains "$j" "\"0.1\""
	expect_contains "$j" "\"https://h.example.com/x\""
	expect_contains "$j" "\"--verbose\""
	xtrk run -q -m viarun -- true --api-key S3kr1tC8Q --epochs 3 > /dev/null
	j=$(xtrk show --json $(xtrk log --format csv --columns id | sed -n 2p))
	expect_contains "$j" "\"--epochs\""
	expect_contains "$j" "\"3\""
	secrets_nowhere
'

finish
