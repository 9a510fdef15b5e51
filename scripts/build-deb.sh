#!/usr/bin/env bash
#
# build-deb.sh - build the postgresql-15-hybridcache Debian package with
# dpkg-buildpackage and check what it contains.
#
#   scripts/build-deb.sh            builds into a scratch directory and
#                                   copies the .deb to ./dist/
#
# Installs its build dependencies (debhelper, dpkg-dev, fakeroot and the
# project's own) from Debian's packages.  scripts/test.sh runs it too.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
# shellcheck source=scripts/common.sh
source scripts/common.sh

install_deps

WORK=$(mktemp -d /tmp/hybridcache-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/src"
# the source tree without build products or version control
tar -C "$REPO" --exclude=./.git --exclude=./dist --exclude='*.o' --exclude='*.so' \
	--exclude='*.bc' --exclude=./results --exclude=./tmp_check --exclude=./tmp_regress \
	--exclude=./tmp_isolation --exclude=./log -cf - . | tar -C "$WORK/src" -xf -

log "building the Debian package"
(cd "$WORK/src" && dpkg-buildpackage -us -uc -b) > "$WORK/build.log" 2>&1 || {
	tail -n 50 "$WORK/build.log"
	die "dpkg-buildpackage failed"
}

deb=$(ls "$WORK"/postgresql-15-hybridcache_*.deb)
contents=$(dpkg-deb -c "$deb")
for f in \
	./usr/lib/postgresql/15/lib/hybridcache.so \
	./usr/share/postgresql/15/extension/hybridcache.control \
	./usr/share/postgresql/15/extension/hybridcache--0.1.0.sql; do
	grep -q " $f\$" <<<"$contents" || die "the package lacks $f"
done
[ "$(dpkg-deb -f "$deb" Package)" = postgresql-15-hybridcache ] || die "wrong package name"
dpkg-deb -f "$deb" Depends | grep -q 'postgresql-15' || die "the package does not depend on postgresql-15"

mkdir -p "$REPO/dist"
cp "$deb" "$REPO/dist/"
log "built and checked dist/$(basename "$deb")"
