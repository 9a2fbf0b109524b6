# Sourced by bin/pfctl, bin/sysctl, bin/ifconfig, bin/route and bin/arp: `. served.bash PROGRAM
# ARG…` runs PROGRAM/main.mjs on the call. With MACOS_STANDIN_SERVER=PORT:TOKEN:UID (the e2e harness starts ../server.mjs) a caller
# running as UID sends the call to that long-lived process over 127.0.0.1: starting node
# (~100 ms) for each of the hundreds of calls a test run makes was most of its time. Otherwise,
# and for any other user (the server's file access is its own), node runs it alone (alone.mjs).
# Both run the same code on the same state. Bash 3.2 (macOS's /bin/bash) is enough.
LC_ALL=C
program=$1
shift
server=${MACOS_STANDIN_SERVER:-}
port=${server%%:*} token=${server#*:}
uid=${token##*:} token=${token%:*}
if [[ -n $server && $uid == "$EUID" ]] && { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
  # The stand-ins' own variables are all a call reads from its environment.
  env=()
  for name in $(compgen -e); do
    [[ $name == *_STANDIN_* ]] && env+=("$name=${!name}")
  done
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
    ((reads)) && IFS= read -r -d '' body
  fi
  printf '%s\0' "$token" "$program" "$EUID" "$$" "$PWD" "$#" "$@" "${#env[@]}" "${env[@]}" "$reads" "$body" >&3
  if IFS= read -r -d '' code <&3 && IFS= read -r -d '' out <&3 && IFS= read -r -d '' err <&3; then
    printf '%s' "$out"
    printf '%s' "$err" >&2
    exit "$code"
  fi
  echo "$program (LimaWAN test stand-in): the stand-in server gave no answer" >&2
  exit 70
fi
exec node "$(dirname "${BASH_SOURCE[0]}")/alone.mjs" "$program" "$@"
