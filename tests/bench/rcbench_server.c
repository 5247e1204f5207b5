/* rcbench_server: a loopback TCP server under load, bounded.
 *
 *   rcbench_server CONNECTIONS
 *
 * Listens on 127.0.0.1 (kernel-chosen port), forks one client process that
 * makes CONNECTIONS sequential connections (connect, send a request, read the
 * reply until EOF, close), and serves each one (accept, read the request,
 * write the reply, close). The server closes first, so TIME_WAIT sits on the
 * server's side and the client never runs out of ephemeral ports. Both sides
 * stop by themselves; nothing leaks.
 *
 * Prints: RESULT workload=server iters=N ns_per_iter=X conns_per_s=Y
 *
 * Taking turns (RCBENCH_TURNS, bench.h): the connections are served in K
 * slices; the client, one connection at a time, waits for its reply
 * meanwhile.  One more line:
 *   TURNS workload=server slices=K ns=S1,S2,...   (wall ns per connection) */
#include "bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char request[] = "GET / HTTP/1.0\r\n\r\n";
static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			BENCH_DIE("read (got %zu of %zu)", got, len);
		got += (size_t)n;
	}
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			BENCH_DIE("write");
		buf += n;
		len -= (size_t)n;
	}
}

static void serve(long n, void *arg)
{
	int lfd = *(const int *)arg;
	char buf[sizeof(request) - 1];

	for (long i = 0; i < n; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			BENCH_DIE("accept #%ld", i);
		}
		read_exact(fd, buf, sizeof(buf));
		write_all(fd, reply, sizeof(reply) - 1);
		if (close(fd) != 0)
			BENCH_DIE("close");
	}
}

static void client(const struct sockaddr_in *addr, long conns)
{
	char buf[256];

	for (long i = 0; i < conns; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		size_t got = 0;
		ssize_t n;

		if (fd < 0)
			BENCH_DIE("client socket");
		if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0)
			BENCH_DIE("client connect #%ld", i);
		write_all(fd, request, sizeof(request) - 1);
		while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0)
			got += (size_t)n;
		if (n < 0 || got != sizeof(reply) - 1)
			BENCH_DIE("client read #%ld (%zu bytes)", i, got);
		if (close(fd) != 0)
			BENCH_DIE("client close");
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	struct bench_turns turns;
	long conns;
	long long t0, t1;
	int lfd, one = 1, status;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CONNECTIONS\n", argv[0]);
		return 2;
	}
	conns = bench_parse_count(argv[1], "connection count");
	bench_turns_init(&turns, conns);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		BENCH_DIE("socket");
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		BENCH_DIE("bind 127.0.0.1:0");
	if (listen(lfd, 512) != 0)
		BENCH_DIE("listen");
	if (getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0)
		BENCH_DIE("getsockname");

	t0 = bench_now_ns();
	pid = fork();
	if (pid < 0)
		BENCH_DIE("fork");
	if (pid == 0) {
		close(lfd);
		if (turns.k > 0) {
			close(turns.in);
			close(turns.out);
		}
		client(&addr, conns);
		_exit(0);
	}
	if (turns.k > 0)
		bench_turns_run(&turns, conns, serve, &lfd);
	else
		serve(conns, &lfd);
	if (waitpid(pid, &status, 0) != pid)
		BENCH_DIE("waitpid");
	t1 = bench_now_ns();
	close(lfd);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "rcbench: client failed, status 0x%x\n", status);
		return 2;
	}
	printf("RESULT workload=server iters=%ld ns_per_iter=%.1f conns_per_s=%.0f\n",
	       conns, (double)(t1 - t0) / (double)conns,
	       (double)conns * 1e9 / (double)(t1 - t0));
	bench_turns_print(&turns, "server");
	return 0;
}
