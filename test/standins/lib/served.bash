# Sourced by bin/pfctl, bin/sysctl, bin/ifconfig, bin/route, bin/arp, bin/launchctl and
# bin/limactl: `. served.bash PROGRAM ARG…` runs PROGRAM/main.mjs on the call. With
# MACOS_STANDIN_SERVER=PORT:TOKEN:UID[,PORT:TOKEN:UID…] (the e2e harness starts ../server.mjs, one
# as root and one as the VM user) a caller running as one of those UIDs sends the call to that
# user's long-lived process over 127.0.0.1: starting node (~100-200 ms) for each of the hundreds
# of calls a test run makes was most of its time. Otherwise, for any other user (a server's file
# access is its own), and when the server hands the call back (limactl's start, stop, watch,
# plugins), node runs it alone (alone.mjs). Both run the same code on the same state. Bash 3.2
# (macOS's /bin/bash) is enough.
LC_ALL=C
program=$1
shift
# Node runs the call: limactl in one file (../bundle.mjs) when the harness made it for this run.
alone() {
  local lib=${BASH_SOURCE[0]%/*}
  [[ $program == limactl && -n ${LIMACTL_STANDIN_BUNDLED:-} && -f $lib/../bundled/limactl ]] && exec node "$lib/../bundled/limactl" "$@"
  exec node "$lib/alone.mjs" "$program" "$@"
}
server=
servers=${MACOS_STANDIN_SERVER:-}
while [[ -n $servers ]]; do
  entry=${servers%%,*}
  [[ ${entry##*:} == "$EUID" ]] && server=$entry
  [[ $servers == *,* ]] && servers=${servers#*,} || servers=
done
port=${server%%:*} token=${server#*:}
token=${token%:*}
if [[ -n $server ]] && { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
  # The stand-ins' own variables are all a call reads from its environment (all of them come
  # from it: names listed without a subshell); limactl, a user's program, reads more (LIMA_HOME,
  # HOME, PATH, USER, TZ…): it gets all of the environment.
  env=()
  if [[ $program == limactl ]]; then
    for name in $(compgen -e); do env+=("$name=${!name}"); done
  else
    for name in ${!A*} ${!B*} ${!C*} ${!D*} ${!E*} ${!F*} ${!G*} ${!H*} ${!I*} ${!J*} ${!K*} ${!L*} ${!M*} ${!N*} ${!O*} ${!P*} ${!Q*} ${!R*} ${!S*} ${!T*} ${!U*} ${!V*} ${!W*} ${!X*} ${!Y*} ${!Z*} ${!_*}; do
      [[ $name == *_STANDIN_* ]] && env+=("$name=${!name}")
    done
  fi
  # Only pfctl's `-f -` (or -f /dev/stdin) reads stdin: any other call must not wait on a pipe
  # its caller keeps open. Options are read as pfctl's getopt reads them: a letter that takes a
  # value takes the rest of its word, or the next word.
  reads=0 body=
  if [[ $program == pfctl ]]; then
    next=
    for arg in "$@"; do
      if [[ -n $next ]]; then
        [[ $next == f && ( $arg == - || $arg == /dev/stdin ) ]] && reads=1
        next=
        continue
      fi
      [[ $arg == -?* ]] || continue
      rest=${arg#-}
      while [[ -n $rest ]]; do
        letter=${rest:0:1} rest=${rest:1}
        case $letter in
          [afstTXFkiDx])
            if [[ -z $rest ]]; then next=$letter; elif [[ $letter == f && ( $rest == - || $rest == /dev/stdin ) ]]; then reads=1; fi
            break
            ;;
        esac
      done
    done
  elif [[ $program == limactl ]]; then
    # What limactl (or the guest's command behind `limactl shell`) reads stdin for: `create -`,
    # `install /dev/stdin DEST`, a file argument naming stdin.
    for arg in "$@"; do
      case $arg in -|/dev/stdin|/dev/fd/0|/proc/self/fd/0) reads=1 ;; esac
    done
  fi
  ((reads)) && IFS= read -r -d '' body
  # limactl creates files (the others' state files are theirs): its umask is the caller's.
  mask=-
  [[ $program == limactl ]] && mask=$(umask)
  tty=
  [[ -t 1 ]] && tty+=1 || tty+=0
  [[ -t 2 ]] && tty+=1 || tty+=0
  printf '%s\0' "$token" "$program" "$EUID" "$$" "$PWD" "$#" "$@" "${#env[@]}" "${env[@]}" "$reads" "$body" "$mask" "$tty" >&3
  if IFS= read -r -d '' code <&3 && IFS= read -r -d '' out <&3 && IFS= read -r -d '' err <&3; then
    exec 3<&-
    if [[ $code == - ]]; then
      # Handed back (it streams, waits or runs a plugin): node runs it, on what was read of stdin.
      if ((reads)); then
        printf '%s' "$body" | alone "$@"
        exit
      fi
      alone "$@"
    fi
    printf '%s' "$out"
    printf '%s' "$err" >&2
    exit "$code"
  fi
  echo "$program (LimaWAN test stand-in): the stand-in server gave no answer" >&2
  exit 70
fi
alone "$@"
