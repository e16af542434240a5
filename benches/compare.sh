#!/usr/bin/env bash
# Two or more builds of a demo server side by side: the same runs, alternating between
# the binaries, ROUNDS times, so that a change's effect is measured in one sitting on a
# noisy machine. Per binary and round, on a fresh database:
#
#   1. `GET /me` on one connection as fast as it answers (admin token, wrk): req/s;
#   2. `GET /me` on one connection at a fixed rate (ME_RATE, default 2000/s): p50, p99;
#   3. `POST /token` from 16 connections logging in as fast as they can: logins/s, p50, p99;
#   4. `GET /me` at the fixed rate again, while those 16 connections log in: p50, p99, and
#      its p99 ÷ the p99 of run 2.
#
# Usage: benches/compare.sh BINARY BINARY...   (e.g. copies of target/release/example-axum
#        built before and after a change)
# Environment: DURATION (seconds per run, default 6), ROUNDS (default 3), ME_RATE.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 BINARY BINARY..." >&2; exit 2; }
binaries=()
for b in "$@"; do
    [ -x "$b" ] || { echo "not an executable: $b" >&2; exit 2; }
    binaries+=("$(cd "$(dirname "$b")" && pwd)/$(basename "$b")")
done
cd "$(dirname "$0")/.."
DURATION=${DURATION:-6}
ROUNDS=${ROUNDS:-3}
# wrk, the latency tool, start_server, stop_server, admin_token, wrk_run, me_latency,
# me_under_logins, $login_lua
source benches/lib.sh

echo "| round | binary | /me req/s (wrk) | /me p50 / p99 µs at ${ME_RATE}/s | logins/s | login p50 / p99 ms | /me under logins p50 / p99 µs | p99 ÷ idle |"
echo "|---|---|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
    for i in "${!binaries[@]}"; do
        start_server "run-$round-$i" "${binaries[$i]}"
        auth="Authorization: Bearer $(admin_token)"
        read -r me _ _ < <(wrk_run -t1 -c1 -d"${DURATION}s" -H "$auth" "$url/me")
        read -r me50 me99 _ < <(me_latency "$auth")
        read -r logins l50 l99 < <(wrk_run -t1 -c16 -d"${DURATION}s" --timeout 10s \
            -s "$login_lua" "$url/token")
        read -r load50 load99 _ < <(me_under_logins "$auth")
        stop_server
        awk -v r="$round" -v b="${binaries[$i]}" -v me="$me" -v me50="$me50" -v me99="$me99" \
            -v lg="$logins" -v l50="$l50" -v l99="$l99" -v u50="$load50" -v u99="$load99" 'BEGIN {
                printf "| %s | %s | %s | %s / %s | %s | %.0f / %.0f | %s / %s | %.1f |\n",
                    r, b, me, me50, me99, lg, l50 / 1000, l99 / 1000, u50, u99, u99 / me99
            }'
    done
done
