#!/usr/bin/env bash
# Side-by-side speed of behemoth and llama.cpp on the same GGUF files and thread count.
#
# Usage: bench/compare.sh LLAMA_BENCH [-t THREADS] [-p N_PROMPT] [-n N_GEN] [-r ROUNDS] MODEL.gguf...
#
# For each model it alternates `behemoth bench` and `llama-bench` for ROUNDS rounds (one
# repetition each per round, after each tool's own warm-up), so slow phases of a noisy machine
# hit both, then prints the median tokens/s of each and the ratio behemoth / llama.cpp.
# LLAMA_BENCH is the path of a llama-bench binary you built yourself (see bench/README.md);
# BEHEMOTH (default: target/release/behemoth) selects the engine binary.
set -euo pipefail

usage() { sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 2 ] || usage
LLAMA_BENCH=$1; shift
THREADS=$(lscpu -p=core 2>/dev/null | grep -v '^#' | sort -u | wc -l || nproc)
N_PROMPT=512; N_GEN=128; ROUNDS=5
while getopts "t:p:n:r:" opt; do
  case $opt in
    t) THREADS=$OPTARG ;; p) N_PROMPT=$OPTARG ;; n) N_GEN=$OPTARG ;; r) ROUNDS=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
BEHEMOTH=${BEHEMOTH:-$(dirname "$0")/../target/release/behemoth}
[ -x "$LLAMA_BENCH" ] || { echo "error: '$LLAMA_BENCH' is not an executable llama-bench" >&2; exit 1; }
[ -x "$BEHEMOTH" ] || { echo "error: '$BEHEMOTH' not found (cargo build --release first)" >&2; exit 1; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

echo "threads $THREADS, pp$N_PROMPT / tg$N_GEN, $ROUNDS alternating rounds; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| model | test | behemoth t/s | llama.cpp t/s | ratio |\n|---|---|---:|---:|---:|\n' > "$tmp/table"
for model in "$@"; do
  for test in pp tg; do
    if [ $test = pp ] && [ "$N_PROMPT" = 0 ]; then continue; fi
    if [ $test = tg ] && [ "$N_GEN" = 0 ]; then continue; fi
    if [ $test = pp ]; then bp=(-p "$N_PROMPT" -n 0); lp=(-p "$N_PROMPT" -n 0); name=pp$N_PROMPT
    else bp=(-p 0 -n "$N_GEN"); lp=(-p 0 -n "$N_GEN"); name=tg$N_GEN; fi
    : > "$tmp/b"; : > "$tmp/l"
    for ((r = 0; r < ROUNDS; r++)); do
      "$BEHEMOTH" bench -m "$model" -t "$THREADS" -r 1 --no-bandwidth --json "${bp[@]}" \
        | grep -o '"avg_ts": [0-9.e+-]*' | head -1 | awk '{print $2}' >> "$tmp/b"
      "$LLAMA_BENCH" -m "$model" -t "$THREADS" -r 1 -o json "${lp[@]}" 2>/dev/null \
        | grep -o '"avg_ts": [0-9.e+-]*' | head -1 | awk '{print $2}' >> "$tmp/l"
    done
    b=$(median < "$tmp/b"); l=$(median < "$tmp/l")
    echo "$(basename "$model") $name behemoth: $(tr '\n' ' ' < "$tmp/b")| llama.cpp: $(tr '\n' ' ' < "$tmp/l")"
    printf '| %s | %s | %.2f | %.2f | %.2f× |\n' "$(basename "$model")" "$name" "$b" "$l" \
      "$(awk -v b="$b" -v l="$l" 'BEGIN {print (l > 0 ? b / l : 0)}')" >> "$tmp/table"
  done
done
echo
cat "$tmp/table"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
