/*
 * bench_dump: speed and disk use of the core writer (figures, never
 * pass/fail).
 *
 * A child process maps 512 MiB and touches 64 MiB of it (non-zero data
 * spread over the mapping), then stops itself.  The parent reads the
 * child's memory through /proc/PID/mem, as the hosted transport does:
 *
 *   plain read   every byte of every readable mapping, 1 MiB reads into
 *                one buffer, nothing else (the floor);
 *   ut_core_write the same memory source, to a core file in DIR.
 *
 * Reported per run: GB/s of mapped memory for both, the ratio, and the
 * core's size and allocated disk (st_blocks * 512) against the touched
 * memory.  Targets: >= 1 GB/s, <= 3x the plain read, disk close to 64 MiB.
 *
 *   bench_dump [-r RUNS] [-m MAPPED_MIB] [-t TOUCHED_MIB] [-d DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash.h" /* ut_hosted_mem_t: the collector's own memory source */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The floor: read every range with 1 MiB preads. */
static double plain_read(ut_hosted_mem_t *m, uint8_t *buf, uint64_t *bytes)
{
	double t0 = now();
	uint64_t total = 0, sum = 0;

	for (size_t i = 0; i < m->nranges; i++) {
		const ut_mem_range_t *rg = &m->ranges[i];
		for (uint64_t o = 0; o < rg->len;) {
			size_t n = rg->len - o > (1u << 20)
					   ? (1u << 20)
					   : (size_t)(rg->len - o);
			long r = ut_hosted_mem_read(m, rg->addr + o, buf, n);
			if (r > 0) {
				sum += buf[0];
				o += (uint64_t)r;
			} else {
				o = (o + 4096) & ~4095ull;
			}
		}
		total += rg->len;
	}
	*bytes = total + (sum & 0); /* keep the reads */
	return now() - t0;
}

int main(int argc, char **argv)
{
	int runs = 3;
	size_t mapped = 512, touched = 64;
	const char *dir = "/tmp";

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-m") && i + 1 < argc)
			mapped = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			touched = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: bench_dump [-r RUNS] [-m "
					"MAPPED_MIB] [-t TOUCHED_MIB] [-d DIR]\n");
			return 2;
		}
	}
	if (runs < 1 || !mapped || touched > mapped) {
		fprintf(stderr, "bench_dump: bad arguments\n");
		return 2;
	}

	pid_t pid = fork();
	if (pid == 0) {
		size_t len = mapped << 20;
		uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(1);
		/* touch (touched) MiB in 64 KiB pieces spread evenly */
		size_t pieces = (touched << 20) / 65536, stride = len / pieces;
		for (size_t k = 0; k < pieces; k++)
			for (size_t o = 0; o < 65536; o += 8)
				*(uint64_t *)(void *)(p + k * stride + o) =
					k * 65536 + o + 1;
		raise(SIGSTOP);
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		fprintf(stderr, "bench_dump: the child did not start\n");
		return 1;
	}
	ut_hosted_mem_t pm;
	char oerr[512];
	if (ut_hosted_mem_open(pid, &pm, oerr, sizeof(oerr))) {
		fprintf(stderr, "bench_dump: %s\n", oerr);
		kill(pid, SIGKILL);
		return 1;
	}
	const ut_memsrc_t src = pm.src;
	ut_core_thread_t thr;
	memset(&thr, 0, sizeof(thr));
	thr.tid = (uint32_t)pid;
	thr.signo = SIGSEGV;
	char path[512];
	snprintf(path, sizeof(path), "%s/bench_dump.%d.core", dir, (int)pid);
	uint8_t *buf = aligned_alloc(4096, 1u << 20); /* as the writer's */

	printf("bench_dump: child %d, %zu MiB mapped, %zu MiB touched, %zu "
	       "readable mappings, core in %s\n",
	       (int)pid, mapped, touched, pm.nranges, dir);
	printf("%-4s %12s %12s %12s %8s %12s %12s %10s\n", "run", "mem MiB",
	       "read GB/s", "dump GB/s", "ratio", "file MiB", "disk MiB",
	       "disk/touch");
	int rc = 0;
	for (int r = 0; r < runs; r++) {
		uint64_t bytes;
		ut_core_stats_t st;
		char err[512];
		double tr = plain_read(&pm, buf, &bytes);
		if (ut_core_write(path, &src, &thr, 1, NULL, 0, &st, err,
				  sizeof(err))) {
			fprintf(stderr, "bench_dump: %s\n", err);
			rc = 1;
			break;
		}
		printf("%-4d %12.1f %12.2f %12.2f %8.2f %12.1f %12.1f %10.2f\n",
		       r + 1, (double)st.mem_bytes / 1048576.0,
		       (double)bytes / tr / 1e9,
		       (double)st.mem_bytes / st.seconds / 1e9,
		       st.seconds / tr, (double)st.file_bytes / 1048576.0,
		       (double)st.disk_bytes / 1048576.0,
		       (double)st.disk_bytes / (double)(touched << 20));
		unlink(path);
	}
	printf("(targets: dump >= 1 GB/s, ratio <= 3, disk close to the "
	       "touched memory; the core is written to the page cache, not "
	       "synced)\n");
	free(buf);
	ut_hosted_mem_close(&pm);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return rc;
}
