/* Header fields under nested pid namespaces and task switches, for header-fields.test.ts.
 *   nsheader <dir> <depth> <n>
 * Nests <depth> new pid namespaces (unshare(CLONE_NEWPID) + fork at each level; no new mount
 * namespace, so /proc stays the host's and /proc/self names the host pid). In the innermost
 * namespace, its pid 1 forks a child (pid 2, parent pid 1 in the same namespace); both pin
 * themselves to CPU 0 and take turns through pipes, each opening <dir>/d<depth>-r<role>-<i>
 * (missing) n times, so that every open on that CPU comes from the other task than the one
 * before (the BPF per-CPU header cache misses on every event). Each of the two prints one line
 *   role=<r> host=<host pid> hostppid=<host ppid> ns=<pid in its namespace> nsppid=<ppid in it>
 *   pidns=<inode> mntns=<inode>
 * before the opens. Exit code 0 when all went well. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long ino(const char *p)
{
	struct stat st;
	return stat(p, &st) ? 0 : (unsigned long)st.st_ino;
}

static int host_ppid(void)
{
	char buf[512], *p;
	FILE *f = fopen("/proc/self/stat", "r");
	int pp = -1;
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %d", &pp);
	fclose(f);
	return pp;
}

static void report(int role)
{
	char self[64] = "";
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n > 0)
		self[n] = 0;
	printf("role=%d host=%s hostppid=%d ns=%d nsppid=%d pidns=%lu mntns=%lu\n", role, self,
	       host_ppid(), getpid(), getppid(), ino("/proc/self/ns/pid"), ino("/proc/self/ns/mnt"));
	fflush(stdout);
}

static int innermost(const char *dir, int depth, long n)
{
	int a[2], b[2], role;
	long i;
	char c = 0, path[4096];
	cpu_set_t set;
	pid_t kid;

	if (pipe(a) || pipe(b))
		return 1;
	kid = fork();
	if (kid < 0)
		return 1;
	role = kid == 0 ? 2 : 1;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	report(role);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/d%d-r%d-%ld", dir, depth, role, i);
		if (role == 2 && read(a[0], &c, 1) != 1)
			return 1;
		openat(AT_FDCWD, path, O_RDONLY);
		if (role == 1) {
			if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
				return 1;
		} else if (write(b[1], &c, 1) != 1) {
			return 1;
		}
	}
	if (role == 2)
		_exit(0);
	{
		int st;
		if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int depth, level;
	long n;

	if (argc != 4)
		return 2;
	depth = atoi(argv[2]);
	n = atol(argv[3]);
	for (level = 0; level < depth; level++) {
		pid_t p;
		int st;
		if (unshare(CLONE_NEWPID)) {
			perror("unshare");
			return 1;
		}
		p = fork();
		if (p < 0)
			return 1;
		if (p > 0) {
			if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
				return 1;
			return WEXITSTATUS(st);
		}
	}
	return innermost(argv[1], depth, n);
}
