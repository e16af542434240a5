#!/usr/bin/env bash
# Over-the-wire load runs against the three demo servers, each on loopback in its
# default configuration (embedded SQLite in a fresh directory, random HS256 secret),
# with wrk as the client. Three measurements per framework:
#
#   1. throughput of the protected `GET /admin` (admin token) against `GET /healthz`,
#      measured alternately, ROUNDS times each; the ratio of the medians;
#   2. `GET /me` latency on one connection at a fixed rate (ME_RATE, default 2000/s),
#      idle, then while 16 connections log in continuously; p50, p99 and p99.9 of each,
#      and p99 under load ÷ p99 idle;
#   3. login throughput of those 16 connections alone, against the argon2 bound:
#      CPUs ÷ one password verification (timed by `hash-time` just before and just after
#      the logins; the faster of the two, so the stricter bound).
#
# Usage: benches/http.sh [axum] [actix] [rocket]       (default: all three)
# Environment: DURATION (seconds per wrk run, default 10), ROUNDS (default 3),
# CONNECTIONS (for the throughput runs, default 32).
#
# Installs wrk from Debian's packages when it is missing. Every response must be 2xx:
# a run with a single error response fails the script.
set -euo pipefail

cd "$(dirname "$0")/.."
FRAMEWORKS=("$@")
[ ${#FRAMEWORKS[@]} -gt 0 ] || FRAMEWORKS=(axum actix rocket)
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
# wrk, the hash-time and latency tools, $target, start_server, stop_server,
# admin_token, wrk_run, me_latency, me_under_logins, $login_lua
source benches/lib.sh

packages=()
for fw in "${FRAMEWORKS[@]}"; do
    case $fw in
        axum | actix | rocket) packages+=(-p "example-$fw") ;;
        *) echo "unknown framework: $fw (axum, actix, rocket)" >&2; exit 2 ;;
    esac
done
cargo build --release --locked -q "${packages[@]}" # lib.sh built the tools

# hash_time: prints "verify_us cpus" (benches/src/bin/hash-time.rs)
hash_time() { "$target/release/hash-time" | sed 's/verify_us=//; s/cpus=//'; }
median() { tr ' ' '\n' <<<"$*" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# goal VALUE OP LIMIT: VALUE in bold when it meets the goal (OP is >= or <=)
goal() {
    awk -v v="$1" -v op="$2" -v l="$3" \
        'BEGIN { met = op == ">=" ? v >= l : v <= l; printf(met ? "**%s**" : "%s", v) }'
}

echo "${DURATION} s per run, ${ROUNDS} rounds, ${CONNECTIONS} connections for throughput, /me at ${ME_RATE}/s"
echo

results=()
for fw in "${FRAMEWORKS[@]}"; do
    start_server "$fw" "$target/release/example-$fw"
    auth="Authorization: Bearer $(admin_token)"
    wrk -t1 -c"$CONNECTIONS" -d2s "$url/healthz" >/dev/null # warm-up

    healthz=() admin=()
    for _ in $(seq "$ROUNDS"); do
        read -r rps _ _ < <(wrk_run -t1 -c"$CONNECTIONS" -d"${DURATION}s" "$url/healthz")
        healthz+=("$rps")
        read -r rps _ _ < <(wrk_run -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H "$auth" "$url/admin")
        admin+=("$rps")
    done
    h=$(median "${healthz[@]}") a=$(median "${admin[@]}")

    read -r idle50 idle99 idle999 < <(me_latency "$auth")
    # logins alone, then logins with /me alongside; the argon2 bound (CPUs ÷ one
    # verification) timed just before and just after the logins, the faster one kept
    read -r before cpus < <(hash_time)
    # logins wait in the hashing queue: a 10 s socket timeout, not wrk's 2 s, so that one
    # slow login under load is counted, not reported as a socket error
    read -r logins _ _ < <(wrk_run -t1 -c16 -d"${DURATION}s" --timeout 10s -s "$login_lua" "$url/token")
    read -r after _ < <(hash_time)
    verify_us=$((before < after ? before : after))
    bound=$(awk -v c="$cpus" -v t="$verify_us" 'BEGIN { printf "%.1f", c * 1000000 / t }')
    read -r load50 load99 load999 < <(me_under_logins "$auth")
    stop_server

    echo "example-$fw: /healthz ${healthz[*]} req/s, /admin ${admin[*]} req/s"
    echo "example-$fw: /me idle p50 ${idle50} µs p99 ${idle99} µs p99.9 ${idle999} µs; under logins p50 ${load50} µs p99 ${load99} µs p99.9 ${load999} µs"
    echo "example-$fw: logins ${logins}/s; one argon2id verification ${before} / ${after} µs (before / after) on ${cpus} CPUs: bound ${bound}/s"
    results+=("$(printf '| %s | %s | %s | %s | %s / %s / %s | %s / %s / %s | %s | %s | %s |' \
        "$fw" "$h" "$a" "$(goal "$(ratio "$a" "$h")" '>=' 0.8)" "$idle50" "$idle99" "$idle999" \
        "$load50" "$load99" "$load999" "$(goal "$(ratio "$load99" "$idle99")" '<=' 5)" \
        "$logins / $bound" "$(goal "$(ratio "$logins" "$bound")" '>=' 0.8)")")
done

echo
echo "| framework | /healthz req/s | /admin req/s | admin ÷ healthz (goal ≥ 0.8) | /me idle p50 / p99 / p99.9 µs | /me under logins p50 / p99 / p99.9 µs | p99 ratio (goal ≤ 5) | logins/s / bound | ÷ bound (goal ≥ 0.8) |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
