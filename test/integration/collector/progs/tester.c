/* Syscall trigger for the collector's kernel tests (Tetragon's tester-progs idea): each
 * mode performs a known sequence of syscalls and prints what the test must match.
 *   open <dir> <name>       open dir/name by absolute path, then chdir(dir) and open name
 *   tcp                     listen on 127.0.0.1:0, connect to it, accept; prints ports
 *   burst <n> <path>        waits for a line on stdin, then n x openat(path) (missing path)
 *   bursts <n> <dir>        for each line "<tag>" on stdin: n x openat(dir/tag), then prints
 *                           done=<tag>; ends at EOF (one process, several phases)
 *   unix <dir>              listen on dir/srv.sock; a client bound to dir/cli.sock connects,
 *                           then an unbound one; both accepted; prints fds
 *   spin <path> <ms> [n]    n times (default 1): one openat(path), then compute <ms> ms in
 *                           user space (vDSO clock, no syscall); prints opened=1 after the
 *                           first open, spun=1 at the end
 *   forks                   fork (syscall), vfork, clone(CLONE_NEWUTS|SIGCHLD) and clone3
 *                           (CLONE_NEWUTS, exit signal SIGCHLD); prints each child's pid
 * Output: "key=value" lines; exit code 0 on success. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

static int do_open(const char *dir, const char *name)
{
	char abs[4096];
	int fd;

	snprintf(abs, sizeof(abs), "%s/%s", dir, name);
	fd = open(abs, O_RDONLY | O_CLOEXEC);
	printf("pid=%d\nabs_fd=%d\n", getpid(), fd);
	if (fd >= 0)
		close(fd);
	if (chdir(dir))
		return 1;
	fd = openat(AT_FDCWD, name, O_RDONLY | O_CLOEXEC);
	printf("rel_fd=%d\n", fd);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int do_tcp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, c, s;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (void *)&a, sizeof(a)) || listen(l, 8) || getsockname(l, (void *)&a, &alen))
		return 1;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (void *)&a, sizeof(a)))
		return 1;
	s = accept(l, NULL, NULL);
	if (s < 0)
		return 1;
	{
		struct sockaddr_in cl;
		socklen_t cll = sizeof(cl);
		getsockname(c, (void *)&cl, &cll);
		printf("pid=%d\nserver_port=%d\nclient_port=%d\nlisten_fd=%d\nconnect_fd=%d\naccept_fd=%d\n",
		       getpid(), ntohs(a.sin_port), ntohs(cl.sin_port), l, c, s);
	}
	close(s);
	close(c);
	close(l);
	return 0;
}

static int do_burst(long n, const char *path)
{
	char line[64];
	long i;

	printf("pid=%d\nready=1\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (i = 0; i < n; i++)
		openat(AT_FDCWD, path, O_RDONLY);
	printf("done=%ld\n", n);
	fflush(stdout);
	return 0;
}

static int do_spin(const char *path, long ms, long n)
{
	struct timespec t0, t;
	volatile unsigned long x = 0;

	for (long k = 0; k < n; k++) {
		openat(AT_FDCWD, path, O_RDONLY);
		if (k == 0)
			printf("pid=%d\nopened=1\n", getpid());
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			for (int i = 0; i < 10000; i++)
				x += i;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
	}
	printf("spun=1\n");
	return 0;
}

static int do_bursts(long n, const char *dir)
{
	char line[64], path[4096];
	long i;

	printf("pid=%d\nready=1\n", getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		for (i = 0; i < n; i++)
			openat(AT_FDCWD, path, O_RDONLY);
		printf("done=%s\n", line);
		fflush(stdout);
	}
	return 0;
}

static int unix_addr(struct sockaddr_un *a, const char *dir, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	return snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, name) >= (int)sizeof(a->sun_path);
}

static int do_unix(const char *dir)
{
	struct sockaddr_un srv, cli;
	int l, c1, c2, s1, s2;

	if (unix_addr(&srv, dir, "srv.sock") || unix_addr(&cli, dir, "cli.sock"))
		return 1;
	unlink(srv.sun_path);
	unlink(cli.sun_path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (void *)&srv, sizeof(srv)) || listen(l, 8))
		return 1;
	c1 = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c1 < 0 || bind(c1, (void *)&cli, sizeof(cli)) || connect(c1, (void *)&srv, sizeof(srv)))
		return 1;
	s1 = accept(l, NULL, NULL);
	c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c2 < 0 || connect(c2, (void *)&srv, sizeof(srv)))
		return 1;
	s2 = accept(l, NULL, NULL);
	printf("pid=%d\nlisten_fd=%d\ns1_fd=%d\ns2_fd=%d\n", getpid(), l, s1, s2);
	close(s1);
	close(s2);
	close(c1);
	close(c2);
	close(l);
	unlink(srv.sun_path);
	unlink(cli.sun_path);
	return s1 < 0 || s2 < 0;
}

static int reap(const char *what, long pid)
{
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 1;
	printf("%s=%ld\n", what, pid);
	return 0;
}

static int do_forks(void)
{
	struct clone_args ca;
	long pid;

	printf("pid=%d\n", getpid());
	pid = syscall(SYS_fork);
	if (pid == 0)
		_exit(0);
	if (reap("fork", pid))
		return 1;
	pid = vfork();
	if (pid == 0)
		_exit(0);
	if (reap("vfork", pid))
		return 1;
	pid = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, NULL, NULL, 0);
	if (pid == 0)
		_exit(0);
	if (reap("clone", pid))
		return 1;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWUTS;
	ca.exit_signal = SIGCHLD;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(0);
	return reap("clone3", pid);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "open"))
		return do_open(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "tcp"))
		return do_tcp();
	if (argc == 4 && !strcmp(argv[1], "burst"))
		return do_burst(atol(argv[2]), argv[3]);
	if (argc == 4 && !strcmp(argv[1], "bursts"))
		return do_bursts(atol(argv[2]), argv[3]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "spin"))
		return do_spin(argv[2], atol(argv[3]), argc == 5 ? atol(argv[4]) : 1);
	if (argc == 2 && !strcmp(argv[1], "forks"))
		return do_forks();
	if (argc == 3 && !strcmp(argv[1], "unix"))
		return do_unix(argv[2]);
	fprintf(stderr, "usage: tester open <dir> <name> | tcp | burst <n> <path> | bursts <n> <dir> | spin <path> <ms> [n] | forks | unix <dir>\n");
	return 2;
}
