/* Load generator for bench/collector/run.ts and floor.ts.
 *   open <n>                 n x openat(AT_FDCWD, missing path); prints ns_per_op (wall)
 *                            and cpu_ns_per_op (this process's CPU time: not inflated
 *                            while other processes of the shared machine hold the CPU),
 *                            and p10_ns_per_op / p50_ns_per_op: the 10th percentile and
 *                            median over chunks of CHUNK calls (wall clock) — on a host
 *                            whose speed swings within a run, the fast chunks show what
 *                            a call costs when nothing else interferes
 *   forkexec <n>             n x (fork; exec /bin/true; wait); prints ns_per_op
 *   rate <per_second> <secs> paced openat calls (1 ms ticks); prints ops
 * With "wait" as an extra first argument it prints "ready" and waits for a line on stdin
 * before starting (so the runner can move it into a cgroup first). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MISSING "/nonexistent-palisade-bench/file-with-a-moderately-long-name"
#define CHUNK 1000
#define MAX_CHUNKS 100000

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int a = 1;
	double t0, t1, c0, c1;
	long i, n;

	if (argc > 1 && !strcmp(argv[1], "wait")) {
		char line[16];
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
		a = 2;
	}
	if (argc - a == 2 && !strcmp(argv[a], "open")) {
		static double chunk[MAX_CHUNKS];
		long nchunks = 0;
		double tc;
		n = atol(argv[a + 1]);
		c0 = cpu_ns();
		t0 = tc = now_ns();
		for (i = 0; i < n; i++) {
			openat(AT_FDCWD, MISSING, O_RDONLY);
			if ((i + 1) % CHUNK == 0 && nchunks < MAX_CHUNKS) {
				double t = now_ns();
				chunk[nchunks++] = (t - tc) / CHUNK;
				tc = t;
			}
		}
		t1 = now_ns();
		c1 = cpu_ns();
		printf("ops=%ld\nns_per_op=%.1f\ncpu_ns_per_op=%.1f\n", n, (t1 - t0) / n, (c1 - c0) / n);
		if (nchunks > 0) {
			qsort(chunk, nchunks, sizeof(chunk[0]), cmp_double);
			printf("p10_ns_per_op=%.1f\np50_ns_per_op=%.1f\n", chunk[nchunks / 10], chunk[nchunks / 2]);
		}
		return 0;
	}
	if (argc - a == 2 && !strcmp(argv[a], "forkexec")) {
		n = atol(argv[a + 1]);
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			pid_t p = fork();
			if (p == 0) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			waitpid(p, NULL, 0);
		}
		t1 = now_ns();
		printf("ops=%ld\nns_per_op=%.1f\n", n, (t1 - t0) / n);
		return 0;
	}
	if (argc - a == 3 && !strcmp(argv[a], "rate")) {
		long per_s = atol(argv[a + 1]), secs = atol(argv[a + 2]), done = 0;
		double start = now_ns(), end = start + secs * 1e9;
		while (now_ns() < end) {
			double elapsed = now_ns() - start;
			long due = (long)(elapsed / 1e9 * per_s);
			struct timespec ms = { 0, 1000000 };
			for (; done < due; done++)
				openat(AT_FDCWD, MISSING, O_RDONLY);
			nanosleep(&ms, NULL);
		}
		printf("ops=%ld\n", done);
		return 0;
	}
	fprintf(stderr, "usage: loadgen [wait] open <n> | forkexec <n> | rate <per_s> <secs>\n");
	return 2;
}
