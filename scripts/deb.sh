#!/usr/bin/env bash
# make deb: pptp-go_<version>_<arch>.deb from the binaries in bin/ (make build), with
# dpkg-deb: Debian's own tool, on every Debian machine, no Go dependency, and what lintian
# expects. Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
# The package carries the version the binaries were built with (make build sets it), so
# pptp --version and dpkg agree; binaries built without one take the tree's.
if [ -z "${VERSION:-}" ]; then
	VERSION=$("$BIN/pptpd" --version | awk '{print $NF}')
	case $VERSION in [0-9]*) ;; *) VERSION=$(scripts/version.sh) ;; esac
fi
# Debian's name for the architecture the binaries were built for.
case ${GOARCH:-$(go env GOARCH)} in
386) ARCH=i386 ;; arm) ARCH=armhf ;; ppc64le) ARCH=ppc64el ;; *) ARCH=${GOARCH:-$(go env GOARCH)} ;;
esac
OUT=${OUT:-.}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
doc=/usr/share/doc/pptp-go

DESTDIR=$root PREFIX=/usr UNITDIR=/lib/systemd/system DOCDIR=$doc scripts/install.sh >/dev/null
gzip -9n "$root"/usr/share/man/man*/*
install -m 0644 packaging/debian/copyright "$root$doc/copyright"
install -d -m 0755 "$root/usr/share/lintian/overrides"
install -m 0644 packaging/lintian/pptp-go "$root/usr/share/lintian/overrides/pptp-go"
# A native package's changelog: one entry for this build, dated by its commit.
date=$(git log -1 --format=%cD 2>/dev/null || date -R)
{
	printf 'pptp-go (%s) unstable; urgency=medium\n\n' "$VERSION"
	printf '  * Built from commit %s.\n\n' "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
	printf ' -- The pptp-go authors <pptp-go@example.org>  %s\n' "$date"
} | gzip -9n >"$root$doc/changelog.gz"
chmod 0644 "$root$doc/changelog.gz"

install -d -m 0755 "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$size/" packaging/debian/control.in >"$root/DEBIAN/control"
install -m 0644 packaging/debian/conffiles "$root/DEBIAN/conffiles"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

deb=$OUT/pptp-go_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
