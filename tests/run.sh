#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the unit tests (cmocka) and the integration tests (TAP from tests/integration/*.sh),
# prints each failure in full, and ends with one line: "N passed, N failed".
# Usage: tests/run.sh [unit|integration|e2e|fuzz]...   (default: all of them)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD SANITIZE=${SANITIZE:-}
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(unit integration e2e fuzz)
passed=0
failed=0
failures=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_unit() {
        local t p f
        for t in "$BUILD"/tests/test_*; do
                [ -x "$t" ] || continue
                "$t" >"$log" 2>&1
                local rc=$?
                p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
                f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
                p=${p:-0}
                f=${f:-0}
                if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
                passed=$((passed + p))
                failed=$((failed + f))
                printf '%-28s %4d passed %4d failed\n' "unit/$(basename "$t")" "$p" "$f"
                if [ "$f" -ne 0 ]; then
                        cat "$log"
                        failures+=("unit/$(basename "$t")")
                fi
        done
}

run_integration() {
        local t p f start
        for t in tests/integration/test_*.sh; do
                start=$(date +%s)
                bash "$t" >"$log" 2>&1
                local rc=$?
                p=$(grep -c '^ok ' "$log")
                f=$(grep -c '^not ok ' "$log")
                if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
                passed=$((passed + p))
                failed=$((failed + f))
                printf '%-28s %4d passed %4d failed  (%ds)\n' "integration/$(basename "$t" .sh)" "$p" "$f" \
                        $(($(date +%s) - start))
                if [ "$f" -ne 0 ]; then
                        grep -v '^ok ' "$log"
                        failures+=("integration/$(basename "$t")")
                fi
        done
}

# The end-to-end suite in systemd-nspawn (tests/e2e/run.sh): counted like an integration
# test, or one line saying why this machine cannot run it.
run_e2e() {
        local start p f why
        start=$(date +%s)
        bash tests/e2e/run.sh >"$log" 2>&1
        local rc=$?
        why=$(sed -n 's/^1\.\.0 # SKIP //p' "$log")
        if [ $rc -eq 0 ] && [ -n "$why" ]; then
                printf '%-28s skipped: %s\n' "e2e/run" "${why#e2e: }"
                return
        fi
        p=$(grep -c '^ok ' "$log")
        f=$(grep -c '^not ok ' "$log")
        if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        passed=$((passed + p))
        failed=$((failed + f))
        printf '%-28s %4d passed %4d failed  (%ds)\n' "e2e/run" "$p" "$f" $(($(date +%s) - start))
        if [ "$f" -ne 0 ]; then
                grep -v '^ok ' "$log"
                failures+=("e2e/run.sh")
        fi
}

# Each fuzz harness runs for a bounded time on its seed corpus (libFuzzer, ASan+UBSan).
run_fuzz() {
        local h name
        command -v clang >/dev/null || { echo "fuzz: clang missing, skipped"; return; }
        for h in tests/fuzz/fuzz_*.c; do
                name=$(basename "$h" .c)
                if ! make -s "$BUILD/fuzz/$name" >"$log" 2>&1; then
                        cat "$log"
                        failed=$((failed + 1))
                        failures+=("fuzz/$name (build)")
                        continue
                fi
                local work
                work=$(mktemp -d)
                if "$BUILD/fuzz/$name" -max_total_time="${FUZZ_SECONDS:-20}" -print_final_stats=1 \
                        "$work" "tests/fuzz/corpus/${name#fuzz_}" >"$log" 2>&1; then
                        passed=$((passed + 1))
                        printf '%-28s %4d passed %4d failed  (%s)\n' "fuzz/$name" 1 0 \
                                "$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -n1 | awk '{print $2 " runs"}')"
                else
                        failed=$((failed + 1))
                        tail -n 40 "$log"
                        failures+=("fuzz/$name")
                fi
                rm -rf "$work"
        done
}

for k in "${kinds[@]}"; do
        case $k in
        unit) run_unit ;;
        integration) run_integration ;;
        e2e) run_e2e ;;
        fuzz) run_fuzz ;;
        *) echo "run.sh: unknown kind $k" >&2; exit 2 ;;
        esac
done
[ ${#failures[@]} -gt 0 ] && printf 'FAILED: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
