#!/bin/sh
# Runs a command with a sandbox's stand-ins where macOS keeps the real tools (/sbin/pfctl,
# /usr/sbin/sysctl, /bin/launchctl, /usr/bin/sudo …), as LimaWAN runs them as root: by absolute
# path, never from PATH (docs/DESIGN.md "Host access"). Called by test/e2e/harness.ts as
#   unshare --mount --propagation private /bin/sh macos-namespace.sh SYSTEM UID GID -- COMMAND…
# inside a private mount namespace, so nothing outside it sees the overlays. SYSTEM holds
# usr/sbin and usr/bin directories laid over the machine's (here /sbin and /bin are links to
# them); then COMMAND runs as UID:GID (0: stays root), with no supplementary groups.
set -eu
system=$1 uid=$2 gid=$3
shift 4
for dir in usr/sbin usr/bin; do
  mount -t overlay limawan-standins -o "lowerdir=$system/$dir:/$dir" "/$dir"
done
[ "$uid" = 0 ] && exec "$@"
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
