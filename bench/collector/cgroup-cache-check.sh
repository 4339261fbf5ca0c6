#!/bin/bash
# Checks that the sys_exit dispatcher's per-CPU cgroup membership cache (bpf/palisade.bpf.c,
# cg_cache) follows changes of the pal_cgroups map made while the programs run:
#   1. only-mode filter on a cgroup id that is not the loop's: the loop's opens are filtered
#      (and the cache learns "not listed" for the loop's cgroup);
#   2. the loop's cgroup is added to pal_cgroups with bpftool: its opens must now be captured;
#   3. it is removed again: its opens must be filtered again.
# The pal_cgroups map is found as the newest map of that name: do not run it while another
# collector is being loaded.
# Usage (root): bench/collector/cgroup-cache-check.sh   Exit 0 when the captured count is
# exactly the second phase's opens plus the loader's own opens at exec (libc etc.).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=${PALISADE_TEST_TMP:-/tmp/palisade-test}/cgroup-cache-check
mkdir -p "$tmp"
make -s -C "$root/bpf"
cc -O2 -Wall -o "$tmp/loadgen" "$root/bench/collector/loadgen.c"
cc -O2 -Wall -I "$root/bpf/include" -o "$tmp/floor-attach" "$root/bench/collector/floor-attach.c" -lbpf
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$cg2" ] || { echo "no cgroup2 mount" >&2; exit 1; }
cg="$cg2/palisade-cache-check-$$"
mkdir "$cg"
trap 'rmdir "$cg" 2>/dev/null || true' EXIT
id=$(stat -c %i "$cg")
N=1000
run() { bash -c "echo \$\$ > '$cg/cgroup.procs'; exec '$tmp/loadgen' open $N" > /dev/null; }
coproc FA { "$tmp/floor-attach" "$root/bpf/build/palisade.bpf.o" on_exec,on_fork,on_exit,on_sys_exit 2 1 999999999999 1048576; }
read -r line <&"${FA[0]}"
[ "$line" = attached ] || { echo "floor-attach: $line" >&2; exit 1; }
mid=$(bpftool -j map show | python3 -c 'import json,sys; print(max(m["id"] for m in json.load(sys.stdin) if m.get("name")=="pal_cgroups"))')
key=$(python3 -c "import struct; print(' '.join(str(b) for b in struct.pack('<Q', $id)))")
run
bpftool map update id "$mid" key $key value 1
run
bpftool map delete id "$mid" key $key
run
echo stop >&"${FA[1]}"
out=$(cat <&"${FA[0]}")
records=$(echo "$out" | sed -n 's/^records=//p')
# phase 2 also captures the dynamic loader's few opens at exec (ld.so.cache, libc)
if [ "$records" -ge "$N" ] && [ "$records" -le $((N + 8)) ]; then
	echo "ok: $records records captured (phase 2 only: $N opens + the loader's)"
	exit 0
fi
echo "FAIL: $records records captured, expected $N..$((N + 8)) (phase 2 only)" >&2
exit 1
