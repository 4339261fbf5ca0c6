/* Load generator for the capability-event bench: a tight loop of calls that each make one
 * capability check (commoncap cap_capable, so the capability:cap_capable tracepoint fires).
 * Prints "ready", waits for a line on stdin (the runner moves it into a cgroup meanwhile),
 * then runs and prints ops= and ns_per_op=.
 * usage: capgen setuid|rawsock <count>
 *   setuid:  setuid(0) as root (CAP_SETUID is checked on every call; cheap: new creds)
 *   rawsock: socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) + close (CAP_NET_RAW) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "setuid";
	long n = argc > 2 ? atol(argv[2]) : 100000, i, fails = 0;
	char line[16];
	long long t0, t1;

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t0 = now_ns();
	if (strcmp(mode, "rawsock") == 0) {
		for (i = 0; i < n; i++) {
			int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
			if (fd < 0)
				fails++;
			else
				close(fd);
		}
	} else {
		for (i = 0; i < n; i++)
			if (setuid(0))
				fails++;
	}
	t1 = now_ns();
	printf("ops=%ld\nfails=%ld\nns_per_op=%.1f\n", n, fails, (double)(t1 - t0) / n);
	return 0;
}
