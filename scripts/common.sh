# shellcheck shell=bash
# common.sh - helpers shared by scripts/test.sh and scripts/demo.sh.
#
# Source it from bash (after `set -euo pipefail`); it defines no side effects
# other than variables and functions.

PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG=$PG_BIN/pg_config
export PG_CONFIG

# Debian 12 packages needed to build, test and demo the extension.
DEB_PACKAGES=(
	postgresql-15
	postgresql-server-dev-15
	libhiredis-dev
	redis-server
	libipc-run-perl
	build-essential
	pkg-config
	debhelper
	dpkg-dev
	fakeroot
)

# Warnings are errors in every build made by these scripts.
HC_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root: directly when we are root, else through sudo.
as_root()
{
	if is_root; then
		"$@"
	else
		command -v sudo >/dev/null || die "not root and sudo is not installed: cannot run: $*"
		sudo "$@"
	fi
}

# Install the Debian packages, unless dpkg already reports all of them as
# installed (keeps reruns fast and offline).
install_deps()
{
	local missing=() pkg
	for pkg in "${DEB_PACKAGES[@]}"; do
		if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
			missing+=("$pkg")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "dependencies already installed"
		return 0
	fi
	log "installing Debian packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${DEB_PACKAGES[@]}"
}

# Clean build with warnings as errors, then install into the PostgreSQL 15
# tree.  Must be run from the repository root.
build_and_install()
{
	log "building hybridcache"
	make PG_CONFIG="$PG_CONFIG" clean
	make PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$HC_CFLAGS"
	log "installing hybridcache"
	as_root make PG_CONFIG="$PG_CONFIG" install
}
