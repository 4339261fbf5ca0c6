/* N-API surface of the collector (collector/native/index.ts types it).
 *
 * Threads: every exported function runs on the JS main thread. The drain thread (see
 * collector.c) only calls deliver(), which queues a batch on a threadsafe function without
 * blocking; call_js() then runs on the main thread and lends JS one Buffer per batch (an
 * external buffer over the pooled batch memory, or in ring delivery over the ring range
 * itself (read-only memory: a write from JS would fault), no copy), valid during the onBatch
 * call only: it is detached when the call returns and the batch goes back to the pool (ring
 * delivery: the range is released, in ring order, and the kernel may reuse it).
 *
 * Lifetime: close() stops the drain thread (after a last drain) and releases the
 * threadsafe function; batches still queued are delivered, then the tsfn finalizer frees
 * the BPF object and calls onClosed(). If JS drops the handle without close(), the
 * handle's finalizer closes it. Errors are thrown as Error with code (errno name),
 * errno, syscall (the step that failed) and log (libbpf's messages, verifier output).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <time.h>
#include <node_api.h>
#include "collector.h"
#include "record.h"
#include "probe.h"

struct handle {
	struct pal_collector *c;
	napi_threadsafe_function tsfn;
	napi_ref on_closed;
	int closed;
	int finalized;
	int gc;
};

#define CHECK(env, call)                                                           \
	do {                                                                       \
		if ((call) != napi_ok) {                                           \
			napi_throw_error((env), "EINVAL", "palisade: N-API call failed: " #call); \
			return NULL;                                               \
		}                                                                  \
	} while (0)

static napi_value make_errno_error(napi_env env, const char *op, int err, const char *log)
{
	char msg[512];
	const char *name = strerrorname_np(err);
	napi_value e, m, code, v;

	snprintf(msg, sizeof(msg), "palisade collector: %s failed: %s (%s)", op, strerror(err),
		 name ? name : "?");
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
	napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
	napi_create_error(env, code, m, &e);
	napi_create_int32(env, err, &v);
	napi_set_named_property(env, e, "errno", v);
	napi_set_named_property(env, e, "code", code);
	napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, e, "syscall", v);
	if (log && *log) {
		napi_create_string_utf8(env, log, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, e, "log", v);
	}
	return e;
}

static napi_value throw_errno(napi_env env, const char *op, int err)
{
	napi_throw(env, make_errno_error(env, op, err < 0 ? -err : err, NULL));
	return NULL;
}

static int get_u32(napi_env env, napi_value obj, const char *key, uint32_t *out)
{
	napi_value v;
	napi_valuetype t;
	bool has = false;

	if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has)
		return 0;
	napi_get_named_property(env, obj, key, &v);
	napi_typeof(env, v, &t);
	if (t == napi_undefined)
		return 0;
	if (t != napi_number || napi_get_value_uint32(env, v, out) != napi_ok)
		return -1;
	return 1;
}

static int get_config(napi_env env, napi_value obj, struct pal_config *cfg)
{
	if (get_u32(env, obj, "classes", &cfg->classes) < 0 ||
	    get_u32(env, obj, "agentTgid", &cfg->agent_tgid) < 0 ||
	    get_u32(env, obj, "cgroupMode", &cfg->cgroup_mode) < 0 ||
	    get_u32(env, obj, "wakeupBytes", &cfg->wakeup_bytes) < 0 ||
	    get_u32(env, obj, "nsMode", &cfg->ns_mode) < 0 ||
	    get_u32(env, obj, "kernelBatchBytes", &cfg->batch_bytes) < 0)
		return -1;
	return 0;
}

/* Lends one batch to JS: an external Buffer over the pooled batch memory (no copy) for
 * the duration of the onBatch call. Afterwards the ArrayBuffer is detached — any
 * reference JS kept sees an empty buffer, never reused memory — and the batch goes back to
 * the pool. If JS transferred the ArrayBuffer away (already detached) or it cannot be
 * detached, the batch is never reused nor freed (pal_batch_forget). */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	struct handle *h = context;
	struct pal_batch *b = data;
	napi_value buf, ab, n, argv[2], undef, exc = NULL;
	napi_status st;
	bool detached = true;

	if (!b)
		return;
	if (!env || !js_cb) {
		pal_count_discarded(h->c, b->records, b->used);
		pal_batch_release(h->c, b);
		return;
	}
	if (napi_create_external_buffer(env, b->used, (void *)b->ptr, NULL, NULL, &buf) != napi_ok) {
		pal_count_discarded(h->c, b->records, b->used);
		pal_batch_release(h->c, b);
		return;
	}
	napi_create_uint32(env, b->records, &n);
	argv[0] = buf;
	argv[1] = n;
	napi_get_undefined(env, &undef);
	st = napi_call_function(env, undef, js_cb, 2, argv, NULL);
	if (st == napi_pending_exception)
		napi_get_and_clear_last_exception(env, &exc); /* rethrown below, after the detach */
	if (napi_get_typedarray_info(env, buf, NULL, NULL, NULL, &ab, NULL) == napi_ok &&
	    napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && !detached &&
	    napi_detach_arraybuffer(env, ab) == napi_ok)
		pal_batch_release(h->c, b);
	else
		pal_batch_forget(h->c, b);
	if (exc)
		napi_throw(env, exc);
}

static int deliver(void *ctx, struct pal_batch *b)
{
	struct handle *h = ctx;
	return napi_call_threadsafe_function(h->tsfn, b, napi_tsfn_nonblocking) == napi_ok ? 0 : -1;
}

static void tsfn_finalize(napi_env env, void *data, void *hint)
{
	struct handle *h = data;
	napi_value cb, undef;

	pal_close(h->c);
	h->c = NULL;
	h->finalized = 1;
	if (h->on_closed) {
		if (napi_get_reference_value(env, h->on_closed, &cb) == napi_ok && cb) {
			napi_get_undefined(env, &undef);
			napi_call_function(env, undef, cb, 0, NULL, NULL);
		}
		napi_delete_reference(env, h->on_closed);
		h->on_closed = NULL;
	}
	if (h->gc)
		free(h);
}

static void do_close(struct handle *h)
{
	if (h->closed)
		return;
	h->closed = 1;
	pal_stop(h->c);
	napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
}

static void handle_finalize(napi_env env, void *data, void *hint)
{
	struct handle *h = data;
	h->gc = 1;
	if (!h->closed)
		do_close(h);
	if (h->finalized)
		free(h);
}

static struct handle *get_handle(napi_env env, napi_value v)
{
	struct handle *h = NULL;
	if (napi_get_value_external(env, v, (void **)&h) != napi_ok || !h) {
		napi_throw_type_error(env, "EINVAL", "palisade: not a collector handle");
		return NULL;
	}
	return h;
}

/* open(options, onBatch(buffer, records), onClosed()) -> handle */
static napi_value js_open(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3], name, ext;
	struct pal_options o = { 0 };
	char path[4096], raw_path[4096];
	size_t plen = 0;
	uint32_t max_queue = 64;	/* batches in the pool (in flight at most) */
	struct handle *h;
	const char *op = "?";
	int err = 0, rc;

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 3) {
		napi_throw_type_error(env, "EINVAL", "open(options, onBatch, onClosed)");
		return NULL;
	}
	{
		napi_value v;
		if (napi_get_named_property(env, argv[0], "objectPath", &v) != napi_ok ||
		    napi_get_value_string_utf8(env, v, path, sizeof(path), &plen) != napi_ok || plen == 0) {
			napi_throw_type_error(env, "EINVAL", "options.objectPath must be a string");
			return NULL;
		}
	}
	o.object_path = path;
	{
		/* optional: the raw_tracepoint build (default: <objectPath without .bpf.o>-raw.bpf.o) */
		napi_value v;
		napi_valuetype t = napi_undefined;
		bool has = false;
		size_t rlen = 0;
		if (napi_has_named_property(env, argv[0], "rawObjectPath", &has) == napi_ok && has &&
		    napi_get_named_property(env, argv[0], "rawObjectPath", &v) == napi_ok)
			napi_typeof(env, v, &t);
		if (t == napi_string) {
			if (napi_get_value_string_utf8(env, v, raw_path, sizeof(raw_path), &rlen) != napi_ok || rlen == 0) {
				napi_throw_type_error(env, "EINVAL", "options.rawObjectPath must be a non-empty string");
				return NULL;
			}
		} else if (plen > 6 && !strcmp(path + plen - 6, ".bpf.o") && plen + 4 < sizeof(raw_path)) {
			snprintf(raw_path, sizeof(raw_path), "%.*s-raw.bpf.o", (int)(plen - 6), path);
		} else {
			snprintf(raw_path, sizeof(raw_path), "%s", path);
		}
	}
	o.raw_object_path = raw_path;
	o.ring_bytes = 8u << 20;
	o.batch_bytes = 256u << 10;
	o.poll_ms = 20;
	o.config.classes = PAL_CLASS_PROCESS | PAL_CLASS_FILE | PAL_CLASS_NET;
	if (get_u32(env, argv[0], "ringBytes", &o.ring_bytes) < 0 ||
	    get_u32(env, argv[0], "batchBytes", &o.batch_bytes) < 0 ||
	    get_u32(env, argv[0], "pollMs", &o.poll_ms) < 0 ||
	    get_u32(env, argv[0], "maxQueuedBatches", &max_queue) < 0 ||
	    get_u32(env, argv[0], "attachMode", &o.attach_mode) < 0 ||
	    get_u32(env, argv[0], "delivery", &o.delivery) < 0 ||
	    get_config(env, argv[0], &o.config) < 0) {
		napi_throw_type_error(env, "EINVAL", "open: numeric options must be unsigned 32-bit integers");
		return NULL;
	}
	if (o.attach_mode > PAL_ATTACH_RAW) {
		napi_throw_range_error(env, "EINVAL", "open: attachMode must be 0 (auto), 1 (tp_btf) or 2 (raw_tracepoint)");
		return NULL;
	}
	if (o.delivery > PAL_DELIVERY_RING) {
		napi_throw_range_error(env, "EINVAL", "open: delivery must be 0 (copy) or 1 (ring)");
		return NULL;
	}
	if (max_queue < 2)
		max_queue = 2;
	o.pool_batches = max_queue;
	h = calloc(1, sizeof(*h));
	if (!h)
		return throw_errno(env, "calloc", ENOMEM);
	h->c = pal_open(&o, &op, &err);
	if (!h->c) {
		free(h);
		napi_throw(env, make_errno_error(env, op, err, pal_last_log()));
		return NULL;
	}
	CHECK(env, napi_create_string_utf8(env, "palisade.collector", NAPI_AUTO_LENGTH, &name));
	if (napi_create_threadsafe_function(env, argv[1], NULL, name, max_queue, 1, h,
					    tsfn_finalize, h, call_js, &h->tsfn) != napi_ok) {
		pal_close(h->c);
		free(h);
		return throw_errno(env, "napi_create_threadsafe_function", EINVAL);
	}
	napi_create_reference(env, argv[2], 1, &h->on_closed);
	rc = pal_start(h->c, deliver, h);
	if (rc) {
		h->closed = 1;
		napi_release_threadsafe_function(h->tsfn, napi_tsfn_abort);
		return throw_errno(env, "pthread_create", rc);
	}
	CHECK(env, napi_create_external(env, h, handle_finalize, NULL, &ext));
	return ext;
}

static napi_value js_close(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct handle *h;

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!(h = get_handle(env, argv[0])))
		return NULL;
	do_close(h);
	return NULL;
}

static void set_num(napi_env env, napi_value obj, const char *key, double v)
{
	napi_value n;
	napi_create_double(env, v, &n);
	napi_set_named_property(env, obj, key, n);
}

static napi_value num_array(napi_env env, const uint64_t *vals, size_t n, size_t stride)
{
	napi_value arr, v;
	size_t i;
	napi_create_array_with_length(env, n, &arr);
	for (i = 0; i < n; i++) {
		napi_create_double(env, (double)vals[i * stride], &v);
		napi_set_element(env, arr, i, v);
	}
	return arr;
}

static napi_value js_stats(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], out, k;
	struct handle *h;
	struct pal_user_stats st;
	uint64_t kc[1024 * PAL_CNT_MAX];
	int ncpu;

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!(h = get_handle(env, argv[0])))
		return NULL;
	if (!h->c)
		return throw_errno(env, "stats after close", EBADF);
	pal_user_stats(h->c, &st);
	ncpu = pal_kernel_counters(h->c, kc, 1024);
	if (ncpu < 0)
		return throw_errno(env, "read counters map", ncpu);
	napi_create_object(env, &out);
	set_num(env, out, "ringRecords", st.ring_records);
	set_num(env, out, "ringFrames", st.ring_frames);
	set_num(env, out, "ringBytes", st.ring_bytes);
	set_num(env, out, "badRecords", st.bad_records);
	set_num(env, out, "deliveredRecords", st.delivered_records);
	set_num(env, out, "deliveredBytes", st.delivered_bytes);
	set_num(env, out, "deliveredBatches", st.delivered_batches);
	set_num(env, out, "droppedRecords", st.dropped_records);
	set_num(env, out, "droppedBytes", st.dropped_bytes);
	set_num(env, out, "droppedBatches", st.dropped_batches);
	set_num(env, out, "allocFailures", st.alloc_failures);
	set_num(env, out, "poolWaits", st.pool_waits);
	set_num(env, out, "poolBatches", st.pool_batches);
	set_num(env, out, "poolForgotten", st.pool_forgotten);
	napi_set_named_property(env, out, "batchHistogram", num_array(env, st.batch_hist, PAL_HIST_BUCKETS, 1));
	napi_create_object(env, &k);
	napi_set_named_property(env, k, "emitted", num_array(env, kc + PAL_CNT_EMITTED, ncpu, PAL_CNT_MAX));
	napi_set_named_property(env, k, "dropped", num_array(env, kc + PAL_CNT_DROPPED, ncpu, PAL_CNT_MAX));
	napi_set_named_property(env, k, "filtered", num_array(env, kc + PAL_CNT_FILTERED, ncpu, PAL_CNT_MAX));
	napi_set_named_property(env, k, "capSuppressed", num_array(env, kc + PAL_CNT_CAP_SUPPRESSED, ncpu, PAL_CNT_MAX));
	napi_set_named_property(env, k, "flushTick", num_array(env, kc + PAL_CNT_FLUSH_TICK, ncpu, PAL_CNT_MAX));
	napi_set_named_property(env, k, "flushSwitch", num_array(env, kc + PAL_CNT_FLUSH_SWITCH, ncpu, PAL_CNT_MAX));
	napi_set_named_property(env, out, "kernel", k);
	{
		const char *why = "";
		int mode = pal_attach_mode(h->c, &why);
		napi_value v;
		napi_create_string_utf8(env, mode == PAL_ATTACH_RAW ? "raw_tracepoint" : "tp_btf",
					NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, out, "attachMode", v);
		napi_create_string_utf8(env, why, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, out, "attachFallback", v);
		napi_create_string_utf8(env, pal_delivery(h->c) == PAL_DELIVERY_RING ? "ring" : "copy",
					NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, out, "delivery", v);
		napi_create_string_utf8(env, pal_cap_error(h->c), NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, out, "capabilityError", v);
	}
	return out;
}

static napi_value js_set_config(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct handle *h;
	struct pal_config cfg = { 0 };
	int rc;

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!(h = get_handle(env, argv[0])))
		return NULL;
	if (!h->c || h->closed)
		return throw_errno(env, "setConfig after close", EBADF);
	if (argc < 2 || get_config(env, argv[1], &cfg) < 0) {
		napi_throw_type_error(env, "EINVAL", "setConfig(handle, {classes, agentTgid, cgroupMode, wakeupBytes, nsMode, kernelBatchBytes})");
		return NULL;
	}
	if ((rc = pal_set_config(h->c, &cfg)))
		return throw_errno(env, "write config map", rc);
	return NULL;
}

/* setCgroup(handle, id: bigint, present: boolean) */
static napi_value js_set_cgroup(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	struct handle *h;
	uint64_t id = 0;
	bool lossless = false, present = false;
	int rc;

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!(h = get_handle(env, argv[0])))
		return NULL;
	if (!h->c || h->closed)
		return throw_errno(env, "setCgroup after close", EBADF);
	if (argc < 3 || napi_get_value_bigint_uint64(env, argv[1], &id, &lossless) != napi_ok ||
	    !lossless || napi_get_value_bool(env, argv[2], &present) != napi_ok) {
		napi_throw_type_error(env, "EINVAL", "setCgroup(handle, id: bigint, present: boolean)");
		return NULL;
	}
	if ((rc = pal_cgroup_set(h->c, id, present)))
		return throw_errno(env, "update cgroups map", rc);
	return NULL;
}

static napi_value js_set_syscall(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	struct handle *h;
	uint32_t nr = 0;
	bool on = false;
	int rc;

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!(h = get_handle(env, argv[0])))
		return NULL;
	if (!h->c || h->closed)
		return throw_errno(env, "setSyscall after close", EBADF);
	if (argc < 3 || napi_get_value_uint32(env, argv[1], &nr) != napi_ok ||
	    napi_get_value_bool(env, argv[2], &on) != napi_ok) {
		napi_throw_type_error(env, "EINVAL", "setSyscall(handle, nr, on)");
		return NULL;
	}
	if ((rc = pal_syscall_set(h->c, nr, on)))
		return throw_errno(env, "update syscalls map", rc);
	return NULL;
}

/* setNamespace(handle, kind: 1 mnt | 2 pid, inode: number, present: boolean) */
static napi_value js_set_namespace(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4];
	struct handle *h;
	uint32_t kind = 0, inum = 0;
	bool present = false;
	int rc;

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!(h = get_handle(env, argv[0])))
		return NULL;
	if (!h->c || h->closed)
		return throw_errno(env, "setNamespace after close", EBADF);
	if (argc < 4 || napi_get_value_uint32(env, argv[1], &kind) != napi_ok ||
	    napi_get_value_uint32(env, argv[2], &inum) != napi_ok ||
	    napi_get_value_bool(env, argv[3], &present) != napi_ok ||
	    (kind != PAL_NS_MNT && kind != PAL_NS_PID)) {
		napi_throw_type_error(env, "EINVAL", "setNamespace(handle, kind: 1 (mnt) | 2 (pid), inode, present)");
		return NULL;
	}
	if ((rc = pal_ns_set(h->c, kind, inum, present)))
		return throw_errno(env, "update namespaces map", rc);
	return NULL;
}

/* The native checker `check` over one Buffer argument -> { good, bad }; for tests. */
static napi_value batch_check_with(napi_env env, napi_callback_info info,
				   size_t (*check)(const uint8_t *, size_t, size_t *), const char *usage)
{
	size_t argc = 1, len = 0, bad = 0, good;
	napi_value argv[1], out;
	void *data = NULL;

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1 || napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) {
		napi_throw_type_error(env, "EINVAL", usage);
		return NULL;
	}
	good = check(data, len, &bad);
	napi_create_object(env, &out);
	set_num(env, out, "good", good);
	set_num(env, out, "bad", bad);
	return out;
}

/* batchCheck(buffer) -> { good, bad }: the native checker, exposed for tests */
static napi_value js_batch_check(napi_env env, napi_callback_info info)
{
	return batch_check_with(env, info, pal_batch_check, "batchCheck(buffer)");
}

/* ringBatchCheck(buffer) -> { good, bad }: the native checker over a batch in ring layout
 * (what ring delivery hands out), exposed for tests */
static napi_value js_ring_batch_check(napi_env env, napi_callback_info info)
{
	return batch_check_with(env, info, pal_ring_batch_check, "ringBatchCheck(buffer)");
}

/* layout() -> sizes and field offsets of the record structs, for the decoder's tests */
static napi_value js_layout(napi_env env, napi_callback_info info)
{
	napi_value out;
	napi_create_object(env, &out);
#define L(name, val) set_num(env, out, name, (double)(val))
	L("abi", PAL_ABI_VERSION);
	L("hdr", sizeof(struct pal_hdr));
	L("hdr.ts_ns", offsetof(struct pal_hdr, ts_ns));
	L("hdr.cgroup_id", offsetof(struct pal_hdr, cgroup_id));
	L("hdr.start_ns", offsetof(struct pal_hdr, start_ns));
	L("hdr.pid", offsetof(struct pal_hdr, pid));
	L("hdr.ns_pid", offsetof(struct pal_hdr, ns_pid));
	L("hdr.uid", offsetof(struct pal_hdr, uid));
	L("hdr.mnt_ns", offsetof(struct pal_hdr, mnt_ns));
	L("hdr.ret", offsetof(struct pal_hdr, ret));
	L("hdr.syscall", offsetof(struct pal_hdr, syscall));
	L("hdr.comm", offsetof(struct pal_hdr, comm));
	L("exec", sizeof(struct pal_exec));
	L("exec.exe_ino", offsetof(struct pal_exec, exe_ino));
	L("fork", sizeof(struct pal_fork));
	L("exit", sizeof(struct pal_exit));
	L("file", sizeof(struct pal_file));
	L("file.fd", offsetof(struct pal_file, fd));
	L("file.uid", offsetof(struct pal_file, uid));
	L("net", sizeof(struct pal_net));
	L("net.fd", offsetof(struct pal_net, fd));
	L("net.lport", offsetof(struct pal_net, lport));
	L("net.laddr", offsetof(struct pal_net, laddr));
	L("net.raddr", offsetof(struct pal_net, raddr));
	L("syscall", sizeof(struct pal_syscall));
	L("cap", sizeof(struct pal_cap));
	L("cap.target_userns", offsetof(struct pal_cap, target_userns));
	L("cap.suppressed", offsetof(struct pal_cap, suppressed));
	L("recordMax", PAL_RECORD_MAX);
#undef L
	return out;
}

/* bootTimeNs() -> bigint: CLOCK_BOOTTIME now, the clock of every record's ts_ns */
static napi_value js_boot_time(napi_env env, napi_callback_info info)
{
	struct timespec ts;
	napi_value v;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	napi_create_bigint_uint64(env, (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec, &v);
	return v;
}

static napi_value js_probe(napi_env env, napi_callback_info info)
{
	size_t argc = 1, plen = 0;
	napi_value argv[1];
	char path[4096] = "";

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc >= 1)
		napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &plen);
	return pal_probe_js(env, plen ? path : NULL);
}

NAPI_MODULE_INIT()
{
	static const struct {
		const char *name;
		napi_callback fn;
	} fns[] = {
		{ "open", js_open },
		{ "close", js_close },
		{ "stats", js_stats },
		{ "setConfig", js_set_config },
		{ "setCgroup", js_set_cgroup },
		{ "setSyscall", js_set_syscall },
		{ "setNamespace", js_set_namespace },
		{ "batchCheck", js_batch_check },
		{ "ringBatchCheck", js_ring_batch_check },
		{ "layout", js_layout },
		{ "probe", js_probe },
		{ "bootTimeNs", js_boot_time },
	};
	size_t i;
	napi_value fn;

	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
		napi_set_named_property(env, exports, fns[i].name, fn);
	}
	return exports;
}
