# Shared by the over-the-wire scripts (`http.sh`, `compare.sh`): wrk, the demo server
# in its default configuration on loopback, wrk runs that fail on any error response, and
# `/me` latency at a fixed rate. Source it from bash, from the workspace root, after
# `set -euo pipefail`; it builds the `hash-time` and `latency` tools (release) and sets
# `$target` (the target directory), `$work` (a temporary directory, removed on exit with
# the server) and `$login_lua`. Environment: ME_RATE (`/me` requests per second in the
# latency runs, default 2000).

ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD='correct horse battery staple'

if ! command -v wrk >/dev/null; then
    echo "installing wrk from Debian's packages" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null
fi

cargo build --release --locked -q -p authcore-benches --bin hash-time --bin latency
target=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
ME_RATE=${ME_RATE:-2000}

work=$(mktemp -d)
server_pid=""
cleanup() {
    [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# start_server NAME BINARY: runs BINARY in a fresh directory $work/NAME (embedded SQLite
# there, a random HS256 secret, the administrator set); sets $url and $server_pid.
start_server() {
    local dir="$work/$1"
    mkdir -p "$dir"
    (
        cd "$dir"
        # only the variables the runs need; everything else keeps its default
        exec env -u AUTH_DATABASE_URL -u AUTH_REDIS_URL -u AUTH_JWT_SECRET \
            -u AUTH_JWT_KEY_FILE -u AUTH_ISSUER -u AUTH_AUDIENCE -u AUTH_ACCESS_TTL \
            -u AUTH_REFRESH_TTL -u RUST_LOG \
            AUTH_ADDR=127.0.0.1:0 AUTH_ADMIN_EMAIL="$ADMIN_EMAIL" \
            AUTH_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
            "$2" >stdout.txt 2>stderr.txt
    ) &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q '^listening on ' "$dir/stdout.txt" 2>/dev/null && break
        sleep 0.1
    done
    url=$(sed -n 's/^listening on //p' "$dir/stdout.txt" | head -1)
    [ -n "$url" ] || { echo "$1 did not start:" >&2; cat "$dir/stderr.txt" >&2; exit 1; }
}

stop_server() {
    kill "$server_pid"
    wait "$server_pid" || true
    server_pid=""
}

# admin_token: logs the administrator in on $url and prints the access token.
admin_token() {
    local token
    token=$(curl -sf -X POST "$url/token" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" |
        sed -E 's/.*"access_token":"([^"]+)".*/\1/')
    [ -n "$token" ] || { echo "$url: login failed" >&2; exit 1; }
    echo "$token"
}

# wrk_run ARGS...: runs wrk with --latency, fails on any non-2xx or socket error, and
# prints "rps p50_us p99_us".
wrk_run() {
    local out
    out=$(wrk --latency "$@")
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
        echo "wrk $*: error responses" >&2
        echo "$out" >&2
        exit 1
    fi
    awk '
        function us(v) {
            if (v ~ /us$/) return v + 0
            if (v ~ /ms$/) return v * 1000
            if (v ~ /s$/) return v * 1000000
            return v
        }
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = us($2) }
        $1 == "99%" { p99 = us($2) }
        END { printf "%.0f %.0f %.0f\n", rps, p50, p99 }
    ' <<<"$out"
}

# The administrator's login, as a wrk script.
login_lua="$work/login.lua"
cat >"$login_lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"$ADMIN_EMAIL","password":"$ADMIN_PASSWORD"}'
LUA

# me_latency AUTH_HEADER: `GET /me` on one connection at $ME_RATE requests per second
# for $DURATION seconds (see benches/src/bin/latency.rs for why not wrk's percentiles);
# prints "p50_us p99_us p999_us".
me_latency() {
    "$target/release/latency" --rate "$ME_RATE" --seconds "$DURATION" --header "$1" "$url/me" |
        sed -E 's/.*p50_us=([0-9]+) p99_us=([0-9]+) p999_us=([0-9]+).*/\1 \2 \3/'
}

# me_under_logins AUTH_HEADER: me_latency while 16 connections log in as fast as they
# can on $url.
me_under_logins() {
    wrk_run -t1 -c16 -d"$((DURATION + 2))s" --timeout 10s -s "$login_lua" "$url/token" \
        >"$work/login-bg.txt" &
    local login_bg=$!
    sleep 1
    local latencies
    latencies=$(me_latency "$1")
    wait "$login_bg"
    echo "$latencies"
}
