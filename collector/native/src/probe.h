/* Kernel capability probe for `palisade probe` (main thread only). */
#ifndef PALISADE_PROBE_H
#define PALISADE_PROBE_H
#include <node_api.h>
/* Returns { programs: {name: {load, attach}}, fanotify: {...} }; object_path is
 * bpf/build/probe.bpf.o (programs are skipped when NULL). */
napi_value pal_probe_js(napi_env env, const char *object_path);
#endif
