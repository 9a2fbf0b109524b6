# Sourced by bin/pfctl and bin/sysctl: `. served.bash PROGRAM ARG…` runs PROGRAM/main.mjs on the
# call. With MACOS_STANDIN_SERVER=PORT:TOKEN (the e2e harness starts ../server.mjs) the call goes
# to that long-lived process over 127.0.0.1: starting node (~100 ms) for each of the hundreds of
# calls a test run makes was most of its time. Otherwise node runs it alone (alone.mjs). Both run
# the same code on the same state. Bash 3.2 (macOS's /bin/bash) is enough.
LC_ALL=C
program=$1
shift
if [[ -n ${MACOS_STANDIN_SERVER:-} ]] && { exec 3<>"/dev/tcp/127.0.0.1/${MACOS_STANDIN_SERVER%%:*}"; } 2>/dev/null; then
  # The stand-ins' own variables are all a call reads from its environment.
  env=()
  for name in $(compgen -e); do
    [[ $name == *_STANDIN_* ]] && env+=("$name=${!name}")
  done
  # Only pfctl's `-f -` reads stdin: any other call must not wait on a pipe its caller keeps open.
  reads=0 body=
  if [[ $program == pfctl ]]; then
    for arg in "$@"; do
      if [[ $arg == - || $arg == -*f- ]]; then
        reads=1
        IFS= read -r -d '' body
        break
      fi
    done
  fi
  printf '%s\0' "${MACOS_STANDIN_SERVER#*:}" "$program" "$EUID" "$$" "$PWD" "$#" "$@" "${#env[@]}" "${env[@]}" "$reads" "$body" >&3
  if IFS= read -r -d '' code <&3 && IFS= read -r -d '' out <&3 && IFS= read -r -d '' err <&3; then
    printf '%s' "$out"
    printf '%s' "$err" >&2
    exit "$code"
  fi
  echo "$program (LimaWAN test stand-in): the stand-in server gave no answer" >&2
  exit 70
fi
exec node "$(dirname "${BASH_SOURCE[0]}")/alone.mjs" "$program" "$@"
