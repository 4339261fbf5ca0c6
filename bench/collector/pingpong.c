/* Context-switch load for the collector benchmarks: two processes pass a byte back and forth
 * over two pipes, so every round trip blocks (and switches) on both sides.
 *   pingpong <round_trips>
 * Prints ns_per_round_trip=<median-free mean over the whole run>. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000, i;
	int ab[2], ba[2];
	char c = 0;
	struct timespec t0, t1;
	pid_t pid;

	if (n <= 0 || pipe(ab) || pipe(ba)) {
		fprintf(stderr, "usage: pingpong <round_trips>\n");
		return 2;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		for (i = 0; i < n; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waitpid(pid, NULL, 0);
	printf("ns_per_round_trip=%.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
	return 0;
}
