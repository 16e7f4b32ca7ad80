# Sourced by the S3 remote tests after lib.sh: an S3-compatible server on a free loopback port,
# stopped when the test ends, a bucket "team-bucket" in it, and test credentials. The server is
# moto_server (python moto) where it is installed, else s3rver (the npm package, installed by
# contrib/quickstart.sh into contrib/.npm); XTRK_TEST_S3_SERVER=moto or =s3rver picks one.
# S3_SERVER says which one runs, for the few checks that depend on it: moto honours conditional
# writes (If-None-Match, If-Match) and, with S3_SIGNED=1, checks every request's signature; s3rver
# ignores both. Either server's request log is $TRASH/moto.log, one line per request in moto's
# format: "METHOD PATH HTTP/1.1" STATUS.
S3RVER_MODULES=${XTRK_TEST_S3RVER_MODULES:-$XTRK_TEST_SRCDIR/contrib/.npm/node_modules}
have_moto() { command -v moto_server >/dev/null 2>&1; }
have_s3rver() { command -v node >/dev/null 2>&1 && [ -f "$S3RVER_MODULES/s3rver/package.json" ]; }
case "${XTRK_TEST_S3_SERVER:-}" in
moto) have_moto || skip_all "moto_server (python moto) is not installed" ; S3_SERVER=moto ;;
s3rver) have_s3rver || skip_all "s3rver is not installed in $S3RVER_MODULES (contrib/quickstart.sh installs it)"
	S3_SERVER=s3rver ;;
'') if have_moto; then S3_SERVER=moto; elif have_s3rver; then S3_SERVER=s3rver; else
	skip_all "no S3 test server: neither moto_server (python moto) nor s3rver in $S3RVER_MODULES (contrib/quickstart.sh installs it)"
    fi ;;
*) skip_all "XTRK_TEST_S3_SERVER must be moto or s3rver, not $XTRK_TEST_S3_SERVER" ;;
esac
command -v curl >/dev/null 2>&1 || skip_all "curl is not installed"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Credentials a test can look for afterwards: they must never be written anywhere. With S3_SIGNED=1
# on moto, an IAM user's key replaces them (moto checks signatures against its users).
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE
export AWS_ACCESS_KEY_ID=AKIAXTRKTESTKEYID0001 AWS_SECRET_ACCESS_KEY=xtrkTestSecretDoNotStore0123456789

# start_moto: moto_server on a free port, up and answering; 1 when it did not come up. A port
# another test took between free_port and the bind is caught (this server is then not running)
# and another one tried.
start_moto() {
	S3_PORT=$(free_port)
	# S3_SIGNED=1: the server checks every request's signature (after the first 3 actions, which
	# make an IAM user with a key).
	if [ "${S3_SIGNED:-0}" = 1 ]; then
		INITIAL_NO_AUTH_ACTION_COUNT=3 moto_server -H 127.0.0.1 -p "$S3_PORT" >"$TRASH/moto.log" 2>&1 &
	else
		moto_server -H 127.0.0.1 -p "$S3_PORT" >"$TRASH/moto.log" 2>&1 &
	fi
	S3_PID=$!
	S3_URL=http://127.0.0.1:$S3_PORT
	i=0
	# a loaded machine can take a while to start python and moto: up to 60 s
	# ours once it says it listens on the port (a server that could not bind it exits instead)
	until grep -q "Running on http://127.0.0.1:$S3_PORT" "$TRASH/moto.log" 2>/dev/null &&
		curl -s -o /dev/null "$S3_URL/moto-api/" 2>/dev/null; do
		kill -0 $S3_PID 2>/dev/null || return 1
		i=$((i + 1)); [ $i -gt 600 ] && return 1
		sleep 0.1
	done
}

# start_s3rver: s3rver (through tests/helpers/s3rver.js, which binds a free port itself, creates
# the bucket and accepts any key, or with S3_SIGNED=1 only the test key) up and answering; 1 when it
# did not come up.
start_s3rver() {
	local key=
	[ "${S3_SIGNED:-0}" = 1 ] && key="$AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY"
	# --openssl-legacy-provider: s3rver encrypts the continuation token of a listing cut in pages
	# with DES, which OpenSSL 3 has only there; without it such a listing is an HTTP 500
	# shellcheck disable=SC2086
	node --openssl-legacy-provider "$XTRK_TEST_SRCDIR/tests/helpers/s3rver.js" "$S3RVER_MODULES" "$TRASH/s3rver" team-bucket $key \
		>"$TRASH/moto.log" 2>&1 &
	S3_PID=$!
	i=0
	until S3_PORT=$(sed -n 's/^Running on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$TRASH/moto.log" 2>/dev/null) &&
		[ -n "$S3_PORT" ]; do
		kill -0 $S3_PID 2>/dev/null || return 1
		i=$((i + 1)); [ $i -gt 600 ] && return 1
		sleep 0.1
	done
	S3_URL=http://127.0.0.1:$S3_PORT
}

trap 'kill ${S3_PID:-} $(cat "$TRASH/proxy.pid" 2>/dev/null) 2>/dev/null; cd /; rm -rf "$TRASH"' EXIT
tries=0
until start_$S3_SERVER; do
	kill $S3_PID 2>/dev/null
	tries=$((tries + 1)); [ $tries -ge 3 ] && skip_all "$S3_SERVER did not start (3 tries; $(tail -1 "$TRASH/moto.log"))"
done

# s3req [CURL ARGS...] URL: one request signed with the test credentials (SigV4 by curl), its body
# on stdout; fails on an HTTP error.
s3req() {
	curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:${S3_SERVICE:-s3}" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

if [ "$S3_SERVER" = moto ] && [ "${S3_SIGNED:-0}" = 1 ]; then
	# an IAM user allowed everything, and its key (the 3 unchecked actions), then the bucket, signed
	iam() { S3_SERVICE=iam s3req -d "Version=2010-05-08&$1" "$S3_URL/"; }
	iam "Action=CreateUser&UserName=xtrk" >/dev/null &&
		iam "Action=PutUserPolicy&UserName=xtrk&PolicyName=all&PolicyDocument=$(printf %s \
			'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' |
			python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))')" >/dev/null &&
		iam "Action=CreateAccessKey&UserName=xtrk" > "$TRASH/keys" || skip_all "moto could not make an IAM user"
	AWS_ACCESS_KEY_ID=$(sed -n 's/.*<AccessKeyId>\([^<]*\)<.*/\1/p' "$TRASH/keys")
	AWS_SECRET_ACCESS_KEY=$(sed -n 's/.*<SecretAccessKey>\([^<]*\)<.*/\1/p' "$TRASH/keys")
	[ -n "$AWS_ACCESS_KEY_ID" ] && [ -n "$AWS_SECRET_ACCESS_KEY" ] || skip_all "moto gave no IAM key"
fi
[ "$S3_SERVER" = moto ] && { s3req -o /dev/null -X PUT "$S3_URL/team-bucket" || skip_all "no bucket on moto"; }

# s3obj get KEY | put KEY FILE | delete KEY | list [PREFIX] | copy PREFIX NEWPREFIX: the bucket,
# read and written behind xtrk's back. list prints "KEY SIZE" lines; copy copies every object
# under PREFIX/ to NEWPREFIX/.
s3obj() {
	local op=$1 key=${2:-}
	case $op in
	get) s3req "$S3_URL/team-bucket/$key" ;;
	put) s3req -o /dev/null -T "$3" "$S3_URL/team-bucket/$key" ;;
	delete) s3req -o /dev/null -X DELETE "$S3_URL/team-bucket/$key" ;;
	list)
		local token= more=1 next="$TRASH/.s3next.$BASHPID"
		while [ $more = 1 ]; do
			s3req --get ${token:+--data-urlencode "continuation-token=$token"} --data "list-type=2" \
				--data-urlencode "prefix=$key" "$S3_URL/team-bucket" |
				python3 "$XTRK_TEST_SRCDIR/tests/helpers/s3obj.py" "$next" || return 1
			token=$(cat "$next"); [ -n "$token" ] || more=0
		done ;;
	copy)
		local src=${key%/}/ dst=${3%/}/ k
		for k in $(s3obj list "$src" | cut -d" " -f1); do
			s3req -o /dev/null -X PUT -H "x-amz-copy-source: /team-bucket/$k" "$S3_URL/team-bucket/$dst${k#"$src"}" || return 1
		done ;;
	*) echo "s3obj: unknown operation $op" >&2; return 2 ;;
	esac
}

# proxy RULES: (re)start the fault proxy (tests/helpers/s3fault.py) in front of the server, always
# at $PROXY.
PROXY_PORT=$(free_port)
PROXY=http://127.0.0.1:$PROXY_PORT
proxy() {
	[ -s "$TRASH/proxy.pid" ] && kill "$(cat "$TRASH/proxy.pid")" 2>/dev/null
	rm -f "$TRASH/proxy.out"
	i=0
	while :; do
		python3 "$XTRK_TEST_SRCDIR/tests/helpers/s3fault.py" "$PROXY_PORT" "$S3_URL" "$1" >"$TRASH/proxy.out" 2>&1 &
		echo $! > "$TRASH/proxy.pid"
		until grep listening "$TRASH/proxy.out" >/dev/null 2>&1; do
			kill -0 "$(cat "$TRASH/proxy.pid")" 2>/dev/null || break
			sleep 0.05
		done
		grep listening "$TRASH/proxy.out" >/dev/null && return 0
		i=$((i + 1)); [ $i -lt 50 ] || return 1; sleep 0.1 # the old one still holds the port
	done
}
