# Sourced by .ci/run (and usable by hand: `. .ci/services.sh`). Starts the
# services the tests need on 127.0.0.1 and exports where they are:
#   MODELREG_TEST_POSTGRES_DSN   a private PostgreSQL 15 cluster
#   MODELREG_TEST_S3_ENDPOINT    host:port of a versitygw S3 server (plain http)
#   MODELREG_TEST_S3_BUCKET      a bucket the tests may use
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
# Everything lives under $MODELREG_CI_DIR (default /tmp/modelreg-ci) and is
# stopped when the shell that sourced this file exits.

MODELREG_CI_DIR=${MODELREG_CI_DIR:-/tmp/modelreg-ci}
mkdir -p "$MODELREG_CI_DIR"

ci_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

ci_wait_port() { # host port seconds
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "nothing listens on $1:$2 after $3 s" >&2
	return 1
}

ci_start_postgres() {
	local bin=/usr/lib/postgresql/15/bin
	if [ ! -x "$bin/initdb" ]; then
		echo "== installing PostgreSQL 15"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq && apt-get install -y -qq postgresql-15 >/dev/null
	fi
	id postgres >/dev/null 2>&1 || useradd --system --home-dir "$MODELREG_CI_DIR" postgres
	local dir="$MODELREG_CI_DIR/pg" port
	port=$(ci_free_port)
	rm -rf "$dir" && mkdir -p "$dir" && chown postgres "$dir"
	local as=""
	[ "$(id -u)" = 0 ] && as="runuser -u postgres --"
	$as "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
	$as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
		-o "-h 127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=on" start >/dev/null
	export MODELREG_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	MODELREG_CI_PG_STOP="$as $bin/pg_ctl -D $dir/data -m fast stop"
	echo "== PostgreSQL 15 on 127.0.0.1:$port"
}

ci_start_s3() {
	local gw
	gw=$(command -v versitygw || echo "$(go env GOPATH)/bin/versitygw")
	if [ ! -x "$gw" ]; then
		echo "== building versitygw (about two minutes)"
		go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
		gw="$(go env GOPATH)/bin/versitygw"
	fi
	local dir="$MODELREG_CI_DIR/s3" port
	port=$(ci_free_port)
	rm -rf "$dir" && mkdir -p "$dir/data" "$dir/versions"
	export AWS_ACCESS_KEY_ID=modelreg-ci AWS_SECRET_ACCESS_KEY=modelreg-ci-secret-key
	"$gw" --access "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" --port "127.0.0.1:$port" \
		posix "$dir/data" >"$dir/log" 2>&1 &
	MODELREG_CI_S3_PID=$!
	ci_wait_port 127.0.0.1 "$port" 30
	mkdir -p "$dir/data/modelreg-test" # posix backend: a top-level directory is a bucket
	export MODELREG_TEST_S3_ENDPOINT="127.0.0.1:$port" MODELREG_TEST_S3_BUCKET=modelreg-test
	echo "== versitygw S3 on 127.0.0.1:$port"
}

ci_stop_services() {
	[ -n "${MODELREG_CI_S3_PID:-}" ] && kill "$MODELREG_CI_S3_PID" 2>/dev/null
	[ -n "${MODELREG_CI_PG_STOP:-}" ] && $MODELREG_CI_PG_STOP >/dev/null 2>&1
	return 0
}
trap ci_stop_services EXIT

ci_start_postgres
ci_start_s3
