# Sourced by the S3 remote tests after lib.sh: an S3-compatible server (moto_server) on a free
# loopback port, stopped when the test ends, a bucket in it, and test credentials.
command -v moto_server >/dev/null 2>&1 || skip_all "moto_server (python moto) is not installed"
python3 -c 'import boto3' 2>/dev/null || skip_all "python boto3 is not installed"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_moto: moto_server on a free port, up and answering; 1 when it did not come up. A port
# another test took between free_port and the bind is caught (this server is then not running)
# and another one tried.
start_moto() {
	S3_PORT=$(free_port)
	# S3_SIGNED=1: the server checks every request's signature (after the first 3 actions, which
	# make an IAM user with a key and the bucket).
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
trap 'kill ${S3_PID:-} $(cat "$TRASH/proxy.pid" 2>/dev/null) 2>/dev/null; cd /; rm -rf "$TRASH"' EXIT
tries=0
until start_moto; do
	kill $S3_PID 2>/dev/null
	tries=$((tries + 1)); [ $tries -ge 3 ] && skip_all "moto_server did not start (3 tries; $(tail -1 "$TRASH/moto.log"))"
done
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE
if [ "${S3_SIGNED:-0}" = 1 ]; then
	python3 - "$S3_URL" > "$TRASH/keys" <<-'PY' || skip_all "moto could not make an IAM user"
	import boto3, json, sys
	iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="x",
	                   aws_secret_access_key="y")
	iam.create_user(UserName="xtrk")
	iam.put_user_policy(UserName="xtrk", PolicyName="all", PolicyDocument=json.dumps(
	    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
	k = iam.create_access_key(UserName="xtrk")["AccessKey"]
	boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=k["AccessKeyId"],
	             aws_secret_access_key=k["SecretAccessKey"]).create_bucket(Bucket="team-bucket")
	print(k["AccessKeyId"], k["SecretAccessKey"])
	PY
	read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY < "$TRASH/keys"
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
else
	# Credentials a test can look for afterwards: they must never be written anywhere.
	export AWS_ACCESS_KEY_ID=AKIAXTRKTESTKEYID0001 AWS_SECRET_ACCESS_KEY=xtrkTestSecretDoNotStore0123456789
	curl -s -o /dev/null -X PUT "$S3_URL/team-bucket"
fi

# s3obj get|put|list|delete KEY [FILE]: the bucket, read and written behind xtrk's back.
s3obj() { python3 "$XTRK_TEST_SRCDIR/tests/helpers/s3obj.py" "$S3_URL" team-bucket "$@"; }

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
