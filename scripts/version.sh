#!/bin/sh
# The version every build carries (pptp --version, pptpd --version, the .deb), in a form
# Debian's version rules accept: a tag v1.2.3 gives 1.2.3, 4 commits after it
# 1.2.3+git4.gabcdef0; with no tag 0.0~gitYYYYMMDD.abcdef0. "+dirty" marks uncommitted changes.
set -eu
cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "${VERSION:-0.0~unknown}"
	exit 0
fi
dirty=
git diff --quiet HEAD -- 2>/dev/null || dirty=+dirty
if d=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
	d=${d#v}
	case $d in
	*-*-g*) n=${d%-g*}; n=${n##*-}; base=${d%-*-g*}; echo "$base+git$n.g${d##*-g}$dirty" ;;
	*) echo "$d$dirty" ;;
	esac
else
	echo "0.0~git$(git log -1 --format=%cd --date=format:%Y%m%d).$(git rev-parse --short=7 HEAD)$dirty"
fi
