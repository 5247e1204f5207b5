/* rcbench_short: a tiny short-lived program (open a file, close it, exit 0),
 * run 1,000 times by many_short.sh. It acquires one resource so that a
 * preloaded library's lazy initialisation and first stack capture are paid
 * in every process, which is what the many-short-processes row measures. */
#include "bench.h"

#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		BENCH_DIE("open /dev/null");
	if (close(fd) != 0)
		BENCH_DIE("close");
	return 0;
}
