#!/bin/sh
# Runs a command with a sandbox's stand-ins where macOS keeps the real tools (/sbin/pfctl,
# /usr/sbin/sysctl, /bin/launchctl, /usr/bin/sudo …), as LimaWAN runs them as root: by absolute
# path, never from PATH (docs/DESIGN.md "Host access"). Called by test/e2e/harness.ts as
#   unshare --mount --propagation private /bin/sh macos-namespace.sh SYSTEM UID GID VEIL REPO -- COMMAND…
# inside a private mount namespace, so nothing outside it sees the overlays. SYSTEM holds
# usr/sbin and usr/bin directories laid over the machine's (here /sbin and /bin are links to
# them); then COMMAND runs as UID:GID (0: stays root), with no supplementary groups.
# VEIL ("-": none) is the highest directory above the checkout REPO that the VM user cannot
# enter (a clone in /root, in a `mktemp -d`, in a 0700 home). The VM user runs the built CLI,
# limactl's stand-in and its host agents from REPO, so here, and only here, an empty tmpfs
# (mode 755) hides VEIL and REPO itself is bound back at its own path: every path stays the
# same, the clone's own modes stay as they are, and nothing else under VEIL is shown.
set -eu
system=$1 uid=$2 gid=$3 veil=$4 repo=$5
shift 6
if [ "$veil" != - ]; then
  exec 3<"$repo"
  mount -t tmpfs -o mode=755 limawan-reach "$veil"
  mkdir -p "$repo"
  # The checkout as fd 3 holds it, not as its path (which now leads into the tmpfs).
  mount --no-canonicalize --bind /proc/self/fd/3 "$repo"
  exec 3<&-
fi
for dir in usr/sbin usr/bin; do
  mount -t overlay limawan-standins -o "lowerdir=$system/$dir:/$dir" "/$dir"
done
[ "$uid" = 0 ] && exec "$@"
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
