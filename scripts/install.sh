#!/bin/sh
# Installs the built binaries (make build), man pages, systemd units, the LICENSE and the
# default configuration under $DESTDIR$PREFIX; `make install` and `make deb` both use it.
# A configuration file already there is left alone (it is the administrator's).
set -eu
cd "$(dirname "$0")/.."
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
MANDIR=${MANDIR:-$PREFIX/share/man}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/pptp-go}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
SYSCONFDIR=${SYSCONFDIR:-/etc}
BIN=${BIN:-bin}

for b in pptp pptpd; do
	[ -x "$BIN/$b" ] || { echo "install.sh: $BIN/$b not built (make build)" >&2; exit 1; }
done
d() { install -d -m 0755 "$DESTDIR$1"; }
d "$SBINDIR"; d "$MANDIR/man8"; d "$MANDIR/man5"; d "$DOCDIR"; d "$UNITDIR"; d "$SYSCONFDIR/ppp"
install -m 0755 "$BIN/pptp" "$BIN/pptpd" "$DESTDIR$SBINDIR/"
# pptp-linux's pptpsetup command, for scripts and habits that call it by that name.
printf '#!/bin/sh\n# pptpsetup of pptp-linux, as `pptp setup` (pptp-go): see pptp(8).\nexec %s/pptp setup "$@"\n' "$SBINDIR" >"$DESTDIR$SBINDIR/pptpsetup"
chmod 0755 "$DESTDIR$SBINDIR/pptpsetup"
install -m 0644 doc/pptp.8 doc/pptpd.8 doc/pptpsetup.8 "$DESTDIR$MANDIR/man8/"
install -m 0644 doc/pptpd.conf.5 "$DESTDIR$MANDIR/man5/"
install -m 0644 LICENSE "$DESTDIR$DOCDIR/"
install -m 0644 README.md "$DESTDIR$DOCDIR/"
for u in pptpd.service pptp@.service; do
	sed "s|@SBINDIR@|$SBINDIR|g" "packaging/systemd/$u" >"$DESTDIR$UNITDIR/$u"
	chmod 0644 "$DESTDIR$UNITDIR/$u"
done
conf() {
	if [ -e "$DESTDIR$2" ]; then
		echo "install.sh: $DESTDIR$2 exists, left as it is"
	else
		install -m "$3" "$1" "$DESTDIR$2"
	fi
}
conf packaging/etc/pptpd.conf "$SYSCONFDIR/pptpd.conf" 0644
conf packaging/etc/pptpd-options "$SYSCONFDIR/ppp/pptpd-options" 0644
