/* Syscall trigger for the collector's kernel tests (Tetragon's tester-progs idea): each
 * mode performs a known sequence of syscalls and prints what the test must match.
 *   open <dir> <name>       open dir/name by absolute path, then chdir(dir) and open name
 *   tcp                     listen on 127.0.0.1:0, connect to it, accept; prints ports
 *   burst <n> <path>        waits for a line on stdin, then n x openat(path) (missing path)
 *   bursts <n> <dir>        for each line "<tag>" on stdin: n x openat(dir/tag), then prints
 *                           done=<tag>; ends at EOF (one process, several phases)
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
#include <sys/wait.h>
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
	if (argc == 2 && !strcmp(argv[1], "forks"))
		return do_forks();
	fprintf(stderr, "usage: tester open <dir> <name> | tcp | burst <n> <path> | bursts <n> <dir> | forks\n");
	return 2;
}
