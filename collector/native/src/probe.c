/* What this kernel allows, tried for real: each program of bpf/probe.bpf.c is loaded alone
 * and, where harmless, attached and detached at once (cgroup programs to a fresh empty
 * cgroup). fanotify permission events: a group is created and a FAN_OPEN_PERM |
 * FAN_OPEN_EXEC_PERM mark placed on a temp file, then everything is closed (no event is
 * ever triggered, so nothing can block). Results are "ok" or the errno name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include "probe.h"

struct prog_probe {
	const char *prog;   /* name in probe.bpf.c */
	const char *key;    /* name in the result */
	int attach;         /* 0 none, 1 attach(), 2 cgroup */
};

static const struct prog_probe PROBES[] = {
	{ "p_raw_tracepoint", "raw_tracepoint", 1 },
	{ "p_tracepoint", "tracepoint", 1 },
	{ "p_ringbuf", "ringbuf", 0 },
	{ "p_tp_btf", "tp_btf", 1 },
	{ "p_kprobe", "kprobe", 1 },
	{ "p_fentry", "fentry", 1 },
	{ "p_lsm", "lsm", 1 },
	{ "p_cgroup_sock", "cgroup_sock", 2 },
	{ "p_cgroup_connect4", "cgroup_sock_addr", 2 },
};

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return 0;
}

static napi_value str(napi_env env, const char *s)
{
	napi_value v;
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	return v;
}

static const char *errname(int e)
{
	const char *n;
	if (e < 0)
		e = -e;
	n = strerrorname_np(e);
	return n ? n : "EUNKNOWN";
}

static int cgroup2_dir(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[1024];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[512], fstype[64];
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(out, len, "%s", mnt);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

static void probe_prog(napi_env env, napi_value out, const char *path, const struct prog_probe *pp)
{
	struct bpf_object *obj;
	struct bpf_program *p, *it;
	struct bpf_link *link = NULL;
	napi_value r;
	const char *load = "ok", *attach = "skipped";
	char cgdir[600] = "";
	int err;

	napi_create_object(env, &r);
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		load = errname(errno);
		goto done;
	}
	p = bpf_object__find_program_by_name(obj, pp->prog);
	if (!p) {
		load = "ENOENT";
		goto done;
	}
	bpf_object__for_each_program(it, obj)
		bpf_program__set_autoload(it, it == p);
	err = bpf_object__load(obj);
	if (err) {
		load = errname(err);
		goto done;
	}
	if (pp->attach == 1) {
		link = bpf_program__attach(p);
		attach = link ? "ok" : errname(errno);
	} else if (pp->attach == 2) {
		char base[512];
		if (!cgroup2_dir(base, sizeof(base))) {
			attach = "no cgroup2 mount";
		} else {
			int fd;
			snprintf(cgdir, sizeof(cgdir), "%s/palisade-probe-%d", base, (int)getpid());
			if (mkdir(cgdir, 0700) && errno != EEXIST) {
				attach = errname(errno);
				cgdir[0] = 0;
			} else if ((fd = open(cgdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
				attach = errname(errno);
			} else {
				link = bpf_program__attach_cgroup(p, fd);
				attach = link ? "ok" : errname(errno);
				close(fd);
			}
		}
	}
done:
	bpf_link__destroy(link);
	bpf_object__close(obj);
	if (cgdir[0])
		rmdir(cgdir);
	napi_set_named_property(env, r, "load", str(env, load));
	napi_set_named_property(env, r, "attach", str(env, attach));
	napi_set_named_property(env, out, pp->key, r);
}

static napi_value probe_fanotify(napi_env env)
{
	napi_value r;
	char tmpl[] = "/tmp/palisade-probe-XXXXXX";
	const char *init = "ok", *mark = "skipped";
	int fd, tfd;

	napi_create_object(env, &r);
	fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		init = errname(errno);
	} else {
		tfd = mkstemp(tmpl);
		if (tfd < 0) {
			mark = errname(errno);
		} else {
			close(tfd);
			if (fanotify_mark(fd, FAN_MARK_ADD, FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM, AT_FDCWD, tmpl))
				mark = errname(errno);
			else
				mark = "ok";
			unlink(tmpl);
		}
		close(fd);
	}
	napi_set_named_property(env, r, "init", str(env, init));
	napi_set_named_property(env, r, "permissionMark", str(env, mark));
	return r;
}

napi_value pal_probe_js(napi_env env, const char *object_path)
{
	napi_value out, progs;
	size_t i;

	napi_create_object(env, &out);
	napi_create_object(env, &progs);
	if (object_path) {
		libbpf_print_fn_t old = libbpf_set_print(quiet);
		for (i = 0; i < sizeof(PROBES) / sizeof(PROBES[0]); i++)
			probe_prog(env, progs, object_path, &PROBES[i]);
		libbpf_set_print(old);
	}
	napi_set_named_property(env, out, "programs", progs);
	napi_set_named_property(env, out, "fanotify", probe_fanotify(env));
	return out;
}
