/* Makes the capability checks the collector's capability tests look for: opens a raw ICMP
 * socket (socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): the kernel checks CAP_NET_RAW in the
 * network namespace's user namespace), or with "packet" an AF_PACKET socket (the same
 * capability), `count` times (default 1). Prints pid=, uid=, errno= (of the last attempt, 0
 * on success), fails= (attempts that failed) and exits 0 either way: the test compares the
 * reported checks with what happened here.
 * usage: capcheck [raw|packet] [count] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

int main(int argc, char **argv)
{
	int packet = argc > 1 && strcmp(argv[1], "packet") == 0;
	long count = argc > 2 ? atol(argv[2]) : 1, i, fails = 0;
	int err = 0;

	if (count < 1 || count > 10000000)
		count = 1;
	for (i = 0; i < count; i++) {
		int fd = packet ? socket(AF_PACKET, SOCK_RAW, htons(0x0003 /* ETH_P_ALL */))
				: socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		err = fd < 0 ? errno : 0;
		if (fd < 0)
			fails++;
		else
			close(fd);
	}
	printf("pid=%d\nuid=%d\nerrno=%d\nfails=%ld\n", (int)getpid(), (int)getuid(), err, fails);
	return 0;
}
