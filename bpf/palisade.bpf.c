/* placeholder, replaced in step 2 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "palisade_event.h"
char LICENSE[] SEC("license") = "Dual BSD/GPL";
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 20); } events SEC(".maps");
SEC("raw_tracepoint/sched_process_exec")
int on_exec(void *ctx) { return 0; }
