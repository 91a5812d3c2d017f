#!/bin/sh
# Installs (or removes) what gives the accessgw service access to exactly the
# hall's accessibility devices: the accessgw group and service user, the udev
# rules generated from the plugins' ID tables, the opt-in rules for generic
# USB-serial bridges (only the serial numbers named), and the systemd unit.
#
#   install.sh install   [--dry-run] [--destdir DIR] [--with-generic [PLUGIN:]SERIAL...]
#   install.sh uninstall [--dry-run] [--destdir DIR]
#
# It prints each thing it does; a second run changes nothing and says so.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
action= destdir= dry=0 serials=
udevadm=${UDEVADM:-udevadm}
usage() { sed -n '7,8p' "$0" | sed 's/^# *//' >&2; exit 2; }

[ $# -ge 1 ] || usage
action=$1
shift
while [ $# -gt 0 ]; do
    case $1 in
        --dry-run) dry=1 ;;
        --destdir) [ $# -ge 2 ] || usage; destdir=$2; shift ;;
        --with-generic)
            shift
            while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do
                case $1 in
                    *:*:*|:*|*:) echo "install.sh: '$1': write PLUGIN:SERIAL" >&2; exit 2 ;;
                    *[!A-Za-z0-9._:-]*|'') echo "install.sh: '$1': plugin and serial must be letters, digits, . _ -" >&2; exit 2 ;;
                esac
                serials="$serials $1"
                shift
            done
            continue ;;
        *) usage ;;
    esac
    shift
done
case $action in install|uninstall) ;; *) usage ;; esac

if [ -z "$destdir" ] && [ "$dry" = 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "install.sh: must run as root (or give --destdir DIR)" >&2; exit 1; }
    command -v "$udevadm" >/dev/null 2>&1 || { echo "install.sh: udevadm not found: is udev installed? (apt-get install udev)" >&2; exit 1; }
fi

rules_dir="$destdir/etc/udev/rules.d"
unit_dir="$destdir/etc/systemd/system"
rules="$rules_dir/60-accessgw.rules"
generic="$rules_dir/61-accessgw-generic.rules"
unit="$unit_dir/accessgw.service"
changed=0

say() { echo "$*"; }
run() { # a command that changes the system
    changed=1
    if [ "$dry" = 1 ]; then say "would run: $*"; else say "run: $*"; "$@"; fi
}

put_file() { # src-file dest mode
    if [ -f "$2" ] && cmp -s "$1" "$2"; then
        say "unchanged: $2"
        return
    fi
    changed=1
    if [ "$dry" = 1 ]; then
        say "would install: $2 (mode $3, owner root:root)"
    else
        mkdir -p "$(dirname "$2")"
        cp "$1" "$2.tmp.$$"
        chmod "$3" "$2.tmp.$$"
        mv "$2.tmp.$$" "$2"
        say "installed: $2 (mode $3, owner root:root)"
    fi
}

drop_file() {
    if [ -e "$1" ]; then
        changed=1
        if [ "$dry" = 1 ]; then say "would remove: $1"; else rm -f "$1"; say "removed: $1"; fi
    else
        say "absent: $1"
    fi
}

generic_plugins() { # the plugins that have opt-in bridge rules
    sed -n 's/.*ENV{ACCESSGW_PLUGIN}="\([^"]*\)".*/\1/p' "$here/61-accessgw-generic.rules.in" | sort -u
}

generic_plugins() { # the plugins that have opt-in bridge rules
    sed -n 's/.*ENV{ACCESSGW_PLUGIN}="\([^"]*\)".*/\1/p' "$here/61-accessgw-generic.rules.in" | sort -u
}

# PLUGIN:SERIAL: that plugin's bridge rules for the adapter with this serial
# number (hotplug then claims it for the plugin).  A bare SERIAL: access only
# (group accessgw, mode 0660) for a bridge with this serial number, whatever
# plugin it serves; declare it in a [device] section.
generic_rules() {
    awk -v pairs="$serials" '
        BEGIN { n = split(pairs, p, " ") }
        /^[^#].*@SERIAL@/ {
            match($0, /ACCESSGW_PLUGIN}="[^"]*"/); plugin = substr($0, RSTART + 18, RLENGTH - 19)
            for (i = 1; i <= n; i++) {
                split(p[i], ps, ":")
                if (ps[2] == "" ) {  # bare serial: once per bridge model, no plugin claim
                    line = $0; sub(/, ENV\{ACCESSGW_PLUGIN\}="[^"]*"/, "", line); gsub(/@SERIAL@/, ps[1], line)
                    if (!(line in seen)) { seen[line] = 1; print line }
                } else if (ps[1] == plugin) {
                    line = $0; gsub(/@SERIAL@/, ps[2], line); print line
                }
            }
            next }
        { print }' "$here/61-accessgw-generic.rules.in"
}

check_generic_pairs() {
    only=$(generic_plugins)
    for s in $serials; do
        case $s in
            *:*) plugin=${s%%:*}
                 echo "$only" | grep -qx "$plugin" || { echo "install.sh: plugin '$plugin' has no generic-bridge rules (these do: $(echo $only))" >&2; exit 2; } ;;
            *) say "note: serial $s gets access only; name a plugin (PLUGIN:$s, one of: $(echo $only)) to have hotplug claim it" ;;
        esac
    done
}

ensure_account() {
    if [ -n "$destdir" ]; then
        say "intent: system group accessgw and system user accessgw (not created under --destdir)"
        return
    fi
    if getent group accessgw >/dev/null; then say "unchanged: group accessgw"; else run groupadd --system accessgw; fi
    if getent passwd accessgw >/dev/null; then say "unchanged: user accessgw"; else
        run useradd --system --gid accessgw --home-dir /var/lib/accessgw --no-create-home \
            --shell /usr/sbin/nologin --comment "accessgw gateway" accessgw
    fi
}

remove_account() {
    [ -z "$destdir" ] || return 0
    if getent passwd accessgw >/dev/null; then run userdel accessgw; else say "absent: user accessgw"; fi
    if getent group accessgw >/dev/null; then run groupdel accessgw; else say "absent: group accessgw"; fi
}

reload_udev() {
    [ -z "$destdir" ] || return 0
    [ "$changed" = 1 ] || return 0
    run "$udevadm" control --reload
    run "$udevadm" trigger --action=add --subsystem-match=usb --subsystem-match=hidraw --subsystem-match=tty
}

[ -z "$serials" ] || check_generic_pairs
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if [ "$action" = install ]; then
    ensure_account
    put_file "$here/60-accessgw.rules" "$rules" 0644
    if [ -n "$serials" ]; then
        generic_rules > "$tmp"
        put_file "$tmp" "$generic" 0644
    else
        drop_file "$generic"  # generic bridges only when asked for
    fi
    # the unit for an install from source (make install: /usr/local/sbin unless SBINDIR says)
    sed "s|@SBINDIR@|${SBINDIR:-/usr/local/sbin}|g" "$here/accessgw.service.in" > "$tmp"
    put_file "$tmp" "$unit" 0644
    reload_udev
else
    drop_file "$rules"
    drop_file "$generic"
    drop_file "$unit"
    remove_account
    reload_udev
    if [ -n "$destdir" ] && [ "$dry" = 0 ]; then
        for d in "$rules_dir" "$destdir/etc/udev" "$unit_dir" "$destdir/etc/systemd" "$destdir/etc"; do
            rmdir "$d" 2>/dev/null || true
        done
    fi
fi
if [ "$changed" = 0 ]; then say "nothing to do: already ${action}ed"; fi
