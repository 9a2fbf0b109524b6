#!/bin/sh
# The host facts a darwin run is judged by, on stdout: the Mac (sw_vers, uname -a), what PF
# holds (pfctl -sa: rules, nat, states, info …; the interfaces it skips, the enable references),
# lo0, the client port range, and /etc/pf.conf. `npm run test:darwin` writes one before and one
# after a recording run (LIMAWAN_RECORD_FIXTURES=1: evidence/host-before.txt, host-after.txt);
# CI runs it again when a run was cut short. Run as root (pfctl opens /dev/pf).
#
# It never fails: each command's output and exit status are printed, whatever they are. Review
# it before sending it anywhere: uname -a names the Mac, and pfctl -sa lists its connections.
pf_conf=${LIMAWAN_PF_CONF:-/etc/pf.conf}

section() {
  printf '\n===== %s\n' "$*"
  "$@" 2>&1
  printf -- '----- exit %s\n' "$?"
}

printf 'LimaWAN darwin host dump, %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
section sw_vers
section uname -a
section pfctl -s References
section pfctl -s Interfaces -v
section pfctl -sa
section ifconfig lo0
section sysctl net.inet.ip.portrange.first net.inet.ip.portrange.last net.inet.ip.forwarding
section cat "$pf_conf"
exit 0
