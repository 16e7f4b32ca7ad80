# Sourced by the S3 remote tests after lib.sh: an S3-compatible server (moto_server) on a free
# loopback port, stopped when the test ends, a bucket in it, and test credentials.
command -v moto_server >/dev/null 2>&1 || skip_all "moto_server (python moto) is not installed"
python3 -c 'import boto3' 2>/dev/null || skip_all "python boto3 is not installed"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

S3_PORT=$(free_port)
moto_server -H 127.0.0.1 -p "$S3_PORT" >"$TRASH/moto.log" 2>&1 &
S3_PID=$!
trap 'kill $S3_PID ${PROXY_PID:-} 2>/dev/null; cd /; rm -rf "$TRASH"' EXIT
S3_URL=http://127.0.0.1:$S3_PORT
i=0
until curl -s -o /dev/null "$S3_URL/moto-api/" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && skip_all "moto_server did not start"
	sleep 0.1
done
# Credentials a test can look for afterwards: they must never be written anywhere.
export AWS_ACCESS_KEY_ID=AKIAXTRKTESTKEYID0001 AWS_SECRET_ACCESS_KEY=xtrkTestSecretDoNotStore0123456789
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE
curl -s -o /dev/null -X PUT "$S3_URL/team-bucket"

# s3obj get|put|list|delete KEY [FILE]: the bucket, read and written behind xtrk's back.
s3obj() { python3 "$XTRK_TEST_SRCDIR/tests/helpers/s3obj.py" "$S3_URL" team-bucket "$@"; }
