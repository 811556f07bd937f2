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

#include "core.h"

/* The hosted memory source in miniature: /proc/PID/smaps (ranges, without
 * the mappings marked "dd", MADV_DONTDUMP, as the kernel's own dumps)
 * + /proc/PID/mem, and /proc/PID/pagemap for untouched anonymous pages. */
struct procmem {
	int fd, pagemap;
	ut_mem_range_t *r;
	uint8_t *anon; /* per range: anonymous (no file behind it) */
	size_t n;
};

static long proc_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct procmem *m = ctx;

	if (addr > (uint64_t)INT64_MAX)
		return -1;
	return (long)pread(m->fd, buf, len, (off_t)addr);
}

static uint64_t proc_unpopulated(void *ctx, uint64_t addr, uint64_t len)
{
	struct procmem *m = ctx;
	uint64_t ent[512], done = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (addr >= m->r[i].addr && addr - m->r[i].addr < m->r[i].len)
			break;
	if (i == m->n || !m->anon[i] || m->pagemap < 0)
		return 0;
	while (done < len) {
		uint64_t pages = (len - done + 4095) / 4096;
		if (pages > 512)
			pages = 512;
		ssize_t n = pread(m->pagemap, ent, pages * 8,
				  (off_t)((addr + done) / 4096 * 8));
		if (n <= 0)
			break;
		for (ssize_t k = 0; k < n / 8; k++) {
			if (ent[k] >> 62) /* present or swapped */
				return done;
			done += 4096;
		}
	}
	return done < len ? done : len;
}

static int procmem_open(int pid, struct procmem *m)
{
	char p[64], line[512];
	size_t cap = 0;
	int keep = 0;

	memset(m, 0, sizeof(*m));
	snprintf(p, sizeof(p), "/proc/%d/smaps", pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, ino;
		char perm[8];
		int path = 0;
		if (!strncmp(line, "VmFlags:", 8)) {
			if (keep && strstr(line, " dd"))
				m->n--; /* don't dump */
			keep = 0;
			continue;
		}
		if (sscanf(line, "%llx-%llx %7s %*s %*s %llu %n", &a, &b, perm,
			   &ino, &path) != 4 || b <= a)
			continue;
		keep = 0;
		if (perm[0] != 'r' || strstr(line, "[vvar]") ||
		    strstr(line, "[vsyscall]"))
			continue;
		if (m->n == cap) {
			cap = cap ? 2 * cap : 64;
			ut_mem_range_t *nr = realloc(m->r, cap * sizeof(*nr));
			uint8_t *na = realloc(m->anon, cap);
			if (nr)
				m->r = nr;
			if (na)
				m->anon = na;
			if (!nr || !na)
				break;
		}
		m->anon[m->n] = ino == 0;
		m->r[m->n++] = (ut_mem_range_t){
			a, b - a,
			UT_MEM_R | (perm[1] == 'w' ? UT_MEM_W : 0) |
				(perm[2] == 'x' ? UT_MEM_X : 0)
		};
		keep = 1;
	}
	fclose(f);
	snprintf(p, sizeof(p), "/proc/%d/mem", pid);
	m->fd = open(p, O_RDONLY | O_CLOEXEC);
	snprintf(p, sizeof(p), "/proc/%d/pagemap", pid);
	m->pagemap = open(p, O_RDONLY | O_CLOEXEC);
	return m->fd < 0 ? -1 : 0;
}

static void procmem_close(struct procmem *m)
{
	close(m->fd);
	if (m->pagemap >= 0)
		close(m->pagemap);
	free(m->r);
	free(m->anon);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The floor: read every range with 1 MiB preads. */
static double plain_read(struct procmem *m, uint8_t *buf, uint64_t *bytes)
{
	double t0 = now();
	uint64_t total = 0, sum = 0;

	for (size_t i = 0; i < m->n; i++) {
		for (uint64_t o = 0; o < m->r[i].len;) {
			size_t n = m->r[i].len - o > (1u << 20)
					   ? (1u << 20)
					   : (size_t)(m->r[i].len - o);
			long r = proc_read(m, m->r[i].addr + o, buf, n);
			if (r > 0) {
				sum += buf[0];
				o += (uint64_t)r;
			} else {
				o = (o + 4096) & ~4095ull;
			}
		}
		total += m->r[i].len;
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
	struct procmem pm;
	if (procmem_open(pid, &pm)) {
		fprintf(stderr, "bench_dump: cannot read the child's memory: "
				"%s\n",
			strerror(errno));
		kill(pid, SIGKILL);
		return 1;
	}
	ut_memsrc_t src = { .ctx = &pm, .ranges = pm.r, .nranges = pm.n,
			    .read = proc_read };
	ut_core_thread_t thr;
	memset(&thr, 0, sizeof(thr));
	thr.tid = (uint32_t)pid;
	thr.signo = SIGSEGV;
	char path[512];
	snprintf(path, sizeof(path), "%s/bench_dump.%d.core", dir, (int)pid);
	uint8_t *buf = aligned_alloc(4096, 1u << 20); /* as the writer's */

	printf("bench_dump: child %d, %zu MiB mapped, %zu MiB touched, %zu "
	       "readable mappings, core in %s\n",
	       (int)pid, mapped, touched, pm.n, dir);
	printf("%-4s %12s %12s %12s %8s %12s %12s %10s\n", "run", "mem MiB",
	       "read GB/s", "dump GB/s", "ratio", "file MiB", "disk MiB",
	       "disk/touch");
	int rc = 0;
	for (int r = 0; r < runs; r++) {
		uint64_t bytes;
		ut_core_stats_t st;
		char err[512];
		/* with pagemap: untouched anonymous pages left unread.  First,
		 * because reading untouched memory through /proc/PID/mem maps
		 * the zero page there, after which pagemap shows it present:
		 * only run 1 sees a fresh process. */
		ut_memsrc_t src2 = src;
		src2.unpopulated = proc_unpopulated;
		if (ut_core_write(path, &src2, &thr, 1, NULL, 0, &st, err,
				  sizeof(err))) {
			fprintf(stderr, "bench_dump: %s\n", err);
			rc = 1;
			break;
		}
		double tp = st.seconds;
		uint64_t pm_disk = st.disk_bytes, pm_mem = st.mem_bytes; 		unlink(path);
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
		printf("%-4s %12s %12s %12.2f %8.2f %12s %12.1f %10.2f  (with "
		       "pagemap%s)\n",
		       "", "", "", (double)pm_mem / tp / 1e9, tp / tr, "",
		       (double)pm_disk / 1048576.0,
		       (double)pm_disk / (double)(touched << 20),
		       r ? ", zero page mapped by earlier reads" : "");
	}
	printf("(targets: dump >= 1 GB/s, ratio <= 3, disk close to the "
	       "touched memory; the core is written to the page cache, not "
	       "synced)\n");
	free(buf);
	procmem_close(&pm);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return rc;
}
