#!/usr/bin/env bash
#
# test.sh - run every hybridcache test on a fresh Debian 12 machine.
#
#   1. install the Debian build/test dependencies (skipped if present),
#   2. clean build with -Werror and install the extension,
#   3. `make installcheck` (pg_regress, isolation and TAP tests, each against
#      a temporary instance) as a non-root user: initdb refuses to run as
#      root, so as root the tree is copied to a scratch directory owned by
#      `postgres` and the tests run there,
#   4. build the Debian package with scripts/build-deb.sh and check it.
#
# Prints the diffs/logs of failing tests, ends with "N passed, N failed" and
# exits non-zero when anything failed.  Used by .ci/run.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
# shellcheck source=scripts/common.sh
source scripts/common.sh

install_deps
build_and_install

# ---------------------------------------------------------------- run tests

OUTPUT=$(mktemp /tmp/hybridcache-test-output.XXXXXX)
WORKDIR=$REPO
SCRATCH=

# Stop any test server still running from a data directory inside our test
# tree (pg_regress and the TAP framework normally stop their own; this covers
# interrupted runs).  Never touches servers outside $WORKDIR.
stop_leftover_servers()
{
	local pidfile datadir
	while IFS= read -r pidfile; do
		datadir=$(dirname "$pidfile")
		log "stopping leftover test server in $datadir"
		if is_root; then
			runuser -u "$(stat -c %U "$datadir")" -- "$PG_BIN/pg_ctl" -D "$datadir" -m immediate -w stop || true
		else
			"$PG_BIN/pg_ctl" -D "$datadir" -m immediate -w stop || true
		fi
	done < <(find "$WORKDIR" -path "$WORKDIR/.git" -prune -o -name postmaster.pid \
		\( -path '*/tmp_check*' -o -path '*/tmp_regress*' -o -path '*/tmp_isolation*' \) -print 2>/dev/null)
}

cleanup()
{
	stop_leftover_servers
	rm -f "$OUTPUT"
}
trap cleanup EXIT

if is_root; then
	SCRATCH=$(mktemp -d /tmp/hybridcache-test.XXXXXX)
	log "running as root: copying the tree to $SCRATCH for user postgres"
	tar -C "$REPO" --exclude=./.git -cf - . | tar -C "$SCRATCH" -xf -
	chown -R postgres:postgres "$SCRATCH"
	WORKDIR=$SCRATCH
	run_tests() { (cd "$SCRATCH" && runuser -u postgres -- env HOME="$SCRATCH" make PG_CONFIG="$PG_CONFIG" installcheck); }
else
	run_tests() { make PG_CONFIG="$PG_CONFIG" installcheck; }
fi

log "running make installcheck in $WORKDIR"
status=0
run_tests 2>&1 | tee "$OUTPUT" || status=$?
stop_leftover_servers

# ---------------------------------------------------------------- summary

# Count results from pg_regress / pg_isolation_regress summaries
# ("All N tests passed.", "M of N tests failed.", "M of N tests passed, K
# failed test(s) ignored.", with an optional "# " prefix on PostgreSQL 16+)
# and from prove ("Files=F, Tests=N", "(Wstat: .. Tests: N Failed: M)",
# "Result: FAIL").
read -r passed failed < <(awk '
	/^(# )?[ \t]*All [0-9]+ tests passed/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { passed += $i; break }
		next
	}
	/^(# )?[ \t]*[0-9]+ of [0-9]+ tests (failed|passed)/ {
		sub(/^# /, "")
		ignored = 0
		if (match($0, /[0-9]+ (of these failures|failed test\(s\)) ignored/))
			ignored = substr($0, RSTART, RLENGTH) + 0
		if ($5 ~ /^failed/) { failed += $1 - ignored; passed += $3 - $1 }
		else passed += $1    # "M of N tests passed, K failed test(s) ignored"
		next
	}
	/\(Wstat: [0-9]+.*Tests: [0-9]+ Failed: [0-9]+\)/ {
		match($0, /Failed: [0-9]+/); f = substr($0, RSTART + 8, RLENGTH - 8) + 0
		# a script that died before failing a test still counts as one failure
		if (f == 0 && $0 !~ /Wstat: 0 /) f = 1
		tap_failed += f
		next
	}
	/^Files=[0-9]+, Tests=[0-9]+/ {
		match($0, /Tests=[0-9]+/); tap_tests += substr($0, RSTART + 6, RLENGTH - 6)
		next
	}
	/^Result: FAIL/ { tap_fail = 1 }
	END {
		if (tap_fail && tap_failed == 0) tap_failed = 1   # e.g. a script died without a plan
		t = tap_tests - tap_failed; if (t < 0) t = 0
		printf "%d %d\n", passed + t, failed + tap_failed
	}' "$OUTPUT")

if [ "$status" -ne 0 ]; then
	log "make installcheck failed (exit status $status); diffs and logs follow"
	[ "$failed" -gt 0 ] || failed=1
	# pg_regress and isolation diffs
	while IFS= read -r f; do
		printf '\n======== %s ========\n' "$f"
		cat "$f"
	done < <(find "$WORKDIR" -path "$WORKDIR/.git" -prune -o -name regression.diffs -print | sort)
	# server logs of the pg_regress / isolation temporary instances
	# (log/, output_iso/log/) and TAP logs (tmp_check/log/); the tail of each
	while IFS= read -r f; do
		printf '\n======== %s (last 300 lines) ========\n' "$f"
		tail -n 300 "$f"
	done < <(find "$WORKDIR" -path "$WORKDIR/.git" -prune -o -type f \
		\( -path "$WORKDIR/log/*" -o -path '*/output_iso/log/*' -o -path '*/tmp_check*/log/*' \) -print | sort)
	if [ -n "$SCRATCH" ]; then
		log "test tree kept for inspection: $SCRATCH"
	fi
elif [ -n "$SCRATCH" ]; then
	rm -rf "$SCRATCH"
fi

# the Debian package builds and holds what it should
log "building and checking the Debian package"
if bash scripts/build-deb.sh; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
