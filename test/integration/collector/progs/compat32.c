/* The same file, network and failed-exec syscalls, built twice by compat32.test.ts: as a
 * static ia32 program (-m32: every syscall is a compat syscall with ia32 numbers and
 * arguments in ebx, ecx, edx, ...) and as an x86-64 program. syscall(SYS_x) picks each
 * architecture's number; flags are passed explicitly (no O_LARGEFILE added by libc), so
 * the collector must report the same events for both. On ia32 the second connection goes
 * through socketcall(2) (arguments in user memory).
 *   compat32 run <dir>      the sequence; prints key=value lines
 *   compat32 int80 <dir>    x86-64 build only: open(dir/int80.txt) and openat(relative) via
 *                           int $0x80 (ia32 numbers from 64-bit code; buffers below 4 GiB)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __i386__
#include <linux/net.h>
#endif

static long sock_call(int call, unsigned long a0, unsigned long a1, unsigned long a2)
{
#ifdef __i386__
	unsigned long args[3] = { a0, a1, a2 };
	return syscall(SYS_socketcall, call, args);
#else
	switch (call) {
	case 1: return syscall(SYS_socket, a0, a1, a2);
	case 3: return syscall(SYS_connect, a0, a1, a2);
	default: return syscall(SYS_accept, a0, a1, a2);
	}
#endif
}

static int run(const char *dir)
{
	char abs[512], renamed[512];
	char *const args[] = { "/nonexistent-palisade-compat/prog", "arg-1", NULL };
	char *const envp[] = { NULL };
	struct sockaddr_in a = { .sin_family = AF_INET }, cl;
	socklen_t alen = sizeof(a), cll;
	long fd, l, c1, s1, c2, s2, r;

	snprintf(abs, sizeof(abs), "%s/target.txt", dir);
	snprintf(renamed, sizeof(renamed), "%s/renamed.txt", dir);
	printf("pid=%d\nptr_bytes=%d\n", getpid(), (int)sizeof(void *));
	fd = syscall(SYS_open, abs, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	printf("open_fd=%ld\n", fd);
	close(fd);
	if (chdir(dir))
		return 1;
	fd = syscall(SYS_openat, AT_FDCWD, "target.txt", O_RDONLY | O_CLOEXEC, 0);
	printf("openat_fd=%ld\n", fd);
	close(fd);
	r = syscall(SYS_chmod, "target.txt", 0600);
	printf("chmod=%ld\n", r);
#ifdef __i386__
	r = syscall(SYS_chown, "target.txt", 0xffff, 0xffff); /* the 16-bit chown: -1 is 0xffff */
	printf("chown16=%ld\n", r);
	r = syscall(SYS_chown32, "target.txt", 0, 0);
#else
	r = syscall(SYS_chown, "target.txt", -1, -1);
	printf("chown16=%ld\n", r);
	r = syscall(SYS_chown, "target.txt", 0, 0);
#endif
	printf("chown32=%ld\n", r);
	r = syscall(SYS_rename, "target.txt", "renamed.txt");
	printf("rename=%ld\n", r);
	r = syscall(SYS_unlink, renamed);
	printf("unlink=%ld\n", r);
	r = syscall(SYS_execve, args[0], args, envp);
	printf("execve=%ld errno=%d\n", r, errno);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (l < 0 || syscall(SYS_bind, l, &a, sizeof(a)) || syscall(SYS_listen, l, 8) ||
	    getsockname(l, (void *)&a, &alen))
		return 1;
	c1 = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (c1 < 0 || syscall(SYS_connect, c1, &a, sizeof(a)))
		return 1;
	s1 = syscall(SYS_accept4, l, NULL, NULL, SOCK_CLOEXEC);
	cll = sizeof(cl);
	getsockname(c1, (void *)&cl, &cll);
	printf("server_port=%d\nlisten_fd=%ld\nc1_fd=%ld\ns1_fd=%ld\nc1_port=%d\n", ntohs(a.sin_port), l, c1, s1, ntohs(cl.sin_port));
	c2 = sock_call(1, AF_INET, SOCK_STREAM, 0);
	if (c2 < 0 || sock_call(3, c2, (unsigned long)&a, sizeof(a)))
		return 1;
	s2 = sock_call(5, l, 0, 0);
	cll = sizeof(cl);
	getsockname(c2, (void *)&cl, &cll);
	printf("c2_fd=%ld\ns2_fd=%ld\nc2_port=%d\n", c2, s2, ntohs(cl.sin_port));
	return 0;
}

#ifndef __i386__
static char int80_abs[512];
static char int80_rel[] = "int80.txt";

static long int80(long nr, long a, long b, long c, long d)
{
	long ret;
	asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
	return ret;
}

static int run_int80(const char *dir)
{
	long fd;

	snprintf(int80_abs, sizeof(int80_abs), "%s/int80.txt", dir);
	printf("pid=%d\nbuffer_below_4g=%d\n", getpid(), (unsigned long)int80_abs < 0xffffffffUL);
	fd = int80(5, (long)int80_abs, O_RDWR | O_CREAT | O_CLOEXEC, 0600, 0); /* ia32 open */
	printf("open_fd=%ld\n", fd);
	close(fd);
	if (chdir(dir))
		return 1;
	fd = int80(295, AT_FDCWD, (long)int80_rel, O_RDONLY, 0); /* ia32 openat */
	printf("openat_fd=%ld\n", fd);
	close(fd);
	return 0;
}
#endif

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "run"))
		return run(argv[2]);
#ifndef __i386__
	if (argc == 3 && !strcmp(argv[1], "int80"))
		return run_int80(argv[2]);
#endif
	fprintf(stderr, "usage: compat32 run <dir> | int80 <dir>\n");
	return 2;
}
