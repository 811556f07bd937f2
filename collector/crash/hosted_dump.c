/*
 * Memory and notes of a crashed hosted guest, for the core writer.
 *
 * The guest process is alive, stopped in its crash handler waiting for us.
 * Its memory is read through /proc/PID/mem (the mappings from
 * /proc/PID/maps); the notes a debugger needs to make sense of a process
 * core (NT_PRPSINFO, NT_AUXV, NT_FILE) come from /proc as well.  The pid is
 * the one from the rendezvous link, checked against the memfd it published.
 * The end of this file is the hosted source of the capture sequence
 * (crash.h, crash.c).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "backtrace.h"
#include "crash.h"

struct file_map {
	uint64_t start, end, pgoff;
	char *path;
};

static int add_range(ut_hosted_mem_t *m, uint64_t lo, uint64_t hi,
		     uint32_t flags)
{
	if (m->nranges == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		ut_mem_range_t *r = realloc(m->ranges, cap * sizeof(*r));
		if (!r)
			return -1;
		m->ranges = r;
		m->cap = cap;
	}
	m->ranges[m->nranges++] = (ut_mem_range_t){lo, hi - lo, flags, 0};
	return 0;
}

/* One mapping of /proc/PID/smaps, waiting for its VmFlags line. */
struct pending {
	bool valid, dontdump;
	unsigned long long lo, hi, off;
	char perms[8];
	char name[4096];
};

/* Add mapping (p): a PT_LOAD unless it cannot or should not be dumped,
 * and an NT_FILE entry if it maps a file. */
static int flush_mapping(ut_hosted_mem_t *m, const struct pending *p)
{
	if (!p->valid || p->hi <= p->lo)
		return 0;
	if (p->name[0] == '/' &&
	    m->file_names + strlen(p->name) + 1 > UT_HOSTED_MAX_NAMES) {
		if (!m->cut[0])
			snprintf(m->cut, sizeof(m->cut), "NT_FILE cut at %u MiB "
				 "of file names", UT_HOSTED_MAX_NAMES >> 20);
	} else if (p->name[0] == '/') {
		struct file_map *fm = realloc(m->files, (m->nfiles + 1) * sizeof(*fm));
		if (!fm)
			return -1;
		m->files = fm;
		fm[m->nfiles].start = p->lo;
		fm[m->nfiles].end = p->hi;
		fm[m->nfiles].pgoff = p->off / 4096;
		fm[m->nfiles].path = strdup(p->name);
		if (!fm[m->nfiles].path)
			return -1;
		m->file_names += strlen(p->name) + 1;
		m->nfiles++;
	}
	/* Like the kernel: no unreadable mappings, no vvar/vsyscall, nothing
	 * marked MADV_DONTDUMP (an ASan guest's terabytes of shadow). */
	if (p->perms[0] != 'r' || p->dontdump || !strcmp(p->name, "[vvar]") ||
	    !strcmp(p->name, "[vsyscall]"))
		return 0;
	return add_range(m, p->lo, p->hi, UT_MEM_R |
			 (p->perms[1] == 'w' ? UT_MEM_W : 0) |
			 (p->perms[2] == 'x' ? UT_MEM_X : 0));
}

static int len_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Past UT_HOSTED_MAX_DUMP, leave out the largest ranges (a guest's
 * terabytes of untouched reservations), and say so in m->cut. */
static void bound_dump(ut_hosted_mem_t *m)
{
	uint64_t total = 0, left = 0, *len, cut_len;
	size_t nleft = 0, k = 0, ties = 0, n = strlen(m->cut);

	for (size_t i = 0; i < m->nranges; i++)
		total += m->ranges[i].len;
	if (total <= UT_HOSTED_MAX_DUMP)
		return;
	if (!(len = malloc(m->nranges * sizeof(*len))))
		return; /* then the core is written whole */
	for (size_t i = 0; i < m->nranges; i++)
		len[i] = m->ranges[i].len;
	qsort(len, m->nranges, sizeof(*len), len_desc);
	while (total > UT_HOSTED_MAX_DUMP) {
		total -= len[nleft];
		left += len[nleft++];
	}
	cut_len = len[nleft - 1]; /* drop the longer ones, and this many of
				     this length: */
	for (size_t i = 0; i < nleft; i++)
		ties += len[i] == cut_len;
	free(len);
	for (size_t i = 0; i < m->nranges; i++) {
		uint64_t l = m->ranges[i].len;
		if (l > cut_len || (l == cut_len && ties && ties--))
			continue;
		m->ranges[k++] = m->ranges[i];
	}
	m->nranges = k;
	snprintf(m->cut + n, sizeof(m->cut) - n, "%s%zu largest mapping%s "
		 "(%.1f GiB) left out of the core: over its %llu GiB bound",
		 n ? "; " : "", nleft, nleft == 1 ? "" : "s",
		 left / 1073741824.0,
		 (unsigned long long)(UT_HOSTED_MAX_DUMP >> 30));
}

int ut_hosted_mem_open(int pid, ut_hosted_mem_t *m, char *err, size_t errlen)
{
	size_t nmaps = 0;
	char path[64], line[4096 + 256];
	struct pending *p;
	FILE *f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	m->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	m->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->memfd < 0) {
		snprintf(err, errlen, "cannot read the memory of pid %d (%s): %s",
			 pid, path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	p = calloc(1, sizeof(*p));
	if (!f || !p) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		free(p);
		close(m->memfd);
		m->memfd = -1;
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		char perms[8] = "";
		int n = 0;

		if (!strncmp(line, "VmFlags:", 8)) {
			p->dontdump = strstr(line, " dd") != NULL;
			continue;
		}
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, perms,
			   &off, &n) < 4 || n == 0)
			continue; /* a field line of the current mapping */
		rc = flush_mapping(m, p);
		memset(p, 0, sizeof(*p));
		if (++nmaps > UT_HOSTED_MAX_MAPPINGS) {
			size_t k = strlen(m->cut);
			snprintf(m->cut + k, sizeof(m->cut) - k, "%sonly the first "
				 "%u mappings read", k ? "; " : "",
				 UT_HOSTED_MAX_MAPPINGS);
			break;
		}
		p->valid = true;
		p->lo = lo;
		p->hi = hi;
		p->off = off;
		memcpy(p->perms, perms, sizeof(p->perms));
		sscanf(line + n, "%4095[^\n]", p->name);
	}
	if (rc == 0)
		rc = flush_mapping(m, p);
	fclose(f);
	free(p);
	if (rc) {
		ut_hosted_mem_close(m);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	bound_dump(m);
	m->src.ctx = m;
	m->src.ranges = m->ranges;
	m->src.nranges = m->nranges;
	m->src.read = ut_hosted_mem_read;
	return 0;
}

long ut_hosted_mem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	ut_hosted_mem_t *m = ctx;
	ssize_t n = pread(m->memfd, buf, len, (off_t)addr);
	return n < 0 ? -1 : (long)n;
}

void ut_hosted_mem_close(ut_hosted_mem_t *m)
{
	if (m->memfd >= 0)
		close(m->memfd);
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i].path);
	free(m->files);
	free(m->ranges);
	free(m->prpsinfo);
	free(m->auxv);
	free(m->ntfile);
	memset(m, 0, sizeof(*m));
	m->memfd = -1;
}

/* Read a whole /proc file into a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	uint8_t *b = NULL;

	*len = 0;
	if (fd < 0)
		return NULL;
	for (;;) {
		uint8_t *nb = realloc(b, cap);
		if (!nb)
			break;
		b = nb;
		ssize_t r = read(fd, b + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == cap)
			cap *= 2;
	}
	close(fd);
	*len = n;
	return b;
}

int ut_hosted_notes(ut_hosted_mem_t *m, const char *exe_name,
		    ut_core_note_t *notes, size_t *nnotes)
{
	char path[64];
	size_t n = 0, len;

	/* NT_PRPSINFO: who the process was. */
	m->prpsinfo = calloc(1, UT_CORE_PRPSINFO_SIZE);
	if (m->prpsinfo) {
		char args[81] = "";
		snprintf(path, sizeof(path), "/proc/%d/cmdline", m->pid);
		uint8_t *cmd = slurp(path, &len);
		if (cmd) {
			size_t k = len < sizeof(args) - 1 ? len : sizeof(args) - 1;
			for (size_t i = 0; i < k; i++)
				args[i] = cmd[i] ? (char)cmd[i] : ' ';
			args[k] = 0;
			free(cmd);
		}
		ut_core_note_prpsinfo(&notes[n++], m->prpsinfo, exe_name, args,
				      (uint32_t)m->pid);
	}
	/* NT_AUXV: lets the debugger find the entry point and the dynamic
	 * linker's data (and so relocate a PIE executable). */
	snprintf(path, sizeof(path), "/proc/%d/auxv", m->pid);
	m->auxv = slurp(path, &len);
	if (m->auxv && len)
		notes[n++] = (ut_core_note_t){"CORE", NT_AUXV, m->auxv, len};
	/* NT_FILE: count, page size, {start, end, page offset}[count], names. */
	if (m->nfiles) {
		size_t names = 0;
		for (size_t i = 0; i < m->nfiles; i++)
			names += strlen(m->files[i].path) + 1;
		len = 16 + m->nfiles * 24 + names;
		uint8_t *b = calloc(1, len);
		if (b) {
			uint64_t *w = (uint64_t *)b;
			char *s;
			w[0] = m->nfiles;
			w[1] = 4096;
			for (size_t i = 0; i < m->nfiles; i++) {
				w[2 + 3 * i] = m->files[i].start;
				w[3 + 3 * i] = m->files[i].end;
				w[4 + 3 * i] = m->files[i].pgoff;
			}
			s = (char *)(b + 16 + m->nfiles * 24);
			for (size_t i = 0; i < m->nfiles; i++) {
				size_t l = strlen(m->files[i].path) + 1;
				memcpy(s, m->files[i].path, l);
				s += l;
			}
			m->ntfile = b;
			notes[n++] = (ut_core_note_t){"CORE", NT_FILE, b, len};
		}
	}
	*nnotes = n;
	return 0;
}

/* ---- the hosted source of the capture sequence (crash.h) ------------------- */

/* One thread of the process, frozen for the capture (hs_freeze). */
typedef struct hs_thread {
	int tid;
	bool seized;           /* ours to detach */
	bool stopped;          /* in a ptrace stop, registers read */
	int resig;             /* a signal its stop held back, re-sent */
	ut_core_thread_t thr;  /* its registers (not for the crashing one) */
	ut_core_note_t notes[2];
	uint8_t fpregs[512];   /* NT_FPREGSET: struct user_fpregs_struct */
	uint8_t *xstate;       /* NT_X86_XSTATE, malloc'd */
	bool has_fp;
	size_t xlen;
} hs_thread_t;

typedef struct hosted_src {
	ut_crash_src_t s; /* first: the sequence's handle */
	ut_hosted_t *t;   /* prepare only (the serving thread's) */
	int pid;          /* what the worker's hooks use */
	bool same;        /* the process is the one that published the area */
	bool mem_open;
	ut_hosted_mem_t m;
	hs_thread_t *th;  /* every thread, seized on the worker */
	size_t nth;
	ut_core_thread_t *thrs; /* the core's: the crashing one first */
	ut_core_note_t crash_notes[1];
	siginfo_t si;     /* NT_SIGINFO of the crashing thread */
	char exe[PATH_MAX];
} hosted_src_t;

/* The bounds of a freeze: threads seized, bytes of one NT_X86_XSTATE. */
#define HS_MAX_THREADS 16384u
#define HS_XSTATE_MAX (64u << 10)

/* Seize (t), interrupt it and wait for its stop.  0, or -1 with errno
 * (ESRCH: it is gone). */
static int freeze_one(hs_thread_t *t)
{
	int st;

	if (ptrace(PTRACE_SEIZE, t->tid, 0, 0) != 0)
		return -1;
	t->seized = true;
	/* If this fails the thread is gone: its exit is what we reap. */
	ptrace(PTRACE_INTERRUPT, t->tid, 0, 0);
	for (;;) {
		pid_t r = waitpid(t->tid, &st, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == t->tid && WIFSTOPPED(st))
			break;
		t->seized = false; /* exited, reaped, or not ours */
		errno = ESRCH;
		return -1;
	}
	t->stopped = true;
	/* a signal-delivery stop (not our interrupt's): give it back */
	if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP)
		t->resig = WSTOPSIG(st);
	return 0;
}

/* The registers, FP and vector state of stopped thread (t). */
static void read_thread(hs_thread_t *t, uint8_t *scratch)
{
	struct iovec iov = {t->thr.regs, sizeof(t->thr.regs)};

	t->thr.tid = (uint32_t)t->tid;
	if (ptrace(PTRACE_GETREGSET, t->tid, (void *)NT_PRSTATUS, &iov) != 0)
		t->stopped = false; /* no registers: left out of the core
				       (still detached: seized) */
	iov = (struct iovec){t->fpregs, sizeof(t->fpregs)};
	t->has_fp = ptrace(PTRACE_GETREGSET, t->tid, (void *)NT_PRFPREG,
			   &iov) == 0 && iov.iov_len == sizeof(t->fpregs);
	iov = (struct iovec){scratch, HS_XSTATE_MAX};
	if (ptrace(PTRACE_GETREGSET, t->tid, (void *)NT_X86_XSTATE, &iov) == 0 &&
	    iov.iov_len && (t->xstate = malloc(iov.iov_len))) {
		memcpy(t->xstate, scratch, iov.iov_len);
		t->xlen = iov.iov_len;
	}
}

/* (t)'s notes into its thr, once h->th no longer moves (they point into
 * it). */
static void thread_notes(hs_thread_t *t)
{
	size_t n = 0;

	if (t->has_fp)
		t->notes[n++] = (ut_core_note_t){"CORE", NT_FPREGSET, t->fpregs,
						 sizeof(t->fpregs)};
	if (t->xstate)
		t->notes[n++] = (ut_core_note_t){"LINUX", NT_X86_XSTATE,
						 t->xstate, t->xlen};
	t->thr.notes = n ? t->notes : NULL;
	t->thr.nnotes = n;
}

static bool have_tid(const hosted_src_t *h, int tid)
{
	for (size_t i = 0; i < h->nth; i++)
		if (h->th[i].tid == tid)
			return true;
	return false;
}

/*
 * Freeze process h->pid for the capture: seize every thread of
 * /proc/PID/task with ptrace and stop it (again until no new thread
 * appears), so memory is one instant and every thread has registers.  On
 * the worker thread: the ptrace requests of a tracee must come from the
 * thread that seized it (hs_thaw runs there too).  What could not be
 * frozen goes to the note; the capture goes on without it.
 */
static void hs_freeze(hosted_src_t *h, char *note, size_t notelen)
{
	char path[64], why[160] = "";
	uint8_t *scratch = malloc(HS_XSTATE_MAX);
	bool cut = false;

	snprintf(path, sizeof(path), "/proc/%d/task", h->pid);
	for (int pass = 0; pass < 64 && scratch && !cut; pass++) {
		DIR *d = opendir(path);
		struct dirent *de;
		bool added = false;

		if (!d)
			break;
		while ((de = readdir(d))) {
			int tid = atoi(de->d_name);
			if (tid <= 0 || have_tid(h, tid))
				continue;
			if (h->nth == HS_MAX_THREADS) {
				cut = true;
				break;
			}
			if (!(h->nth & (h->nth + 1))) { /* 0, 1, 3, 7, ...: grow */
				hs_thread_t *nt = realloc(h->th, (2 * h->nth + 2) *
							  sizeof(*nt));
				if (!nt) {
					cut = true;
					break;
				}
				h->th = nt;
			}
			hs_thread_t *t = &h->th[h->nth++];
			memset(t, 0, sizeof(*t));
			t->tid = tid;
			if (freeze_one(t) == 0) {
				added = true;
				read_thread(t, scratch);
			} else if (errno != ESRCH && !why[0]) {
				snprintf(why, sizeof(why), "ptrace of thread %d: %s",
					 tid, strerror(errno));
			}
		}
		closedir(d);
		if (!added)
			break;
	}
	free(scratch);
	if (why[0])
		ut_note_append(note, notelen, "%sthreads not frozen (%s): the "
			       "core may lack their registers and memory is not "
			       "one instant", why);
	if (cut)
		ut_note_append(note, notelen, "%s%s", "not every thread frozen "
			       "(over the bound or out of memory)");
}

/* Let every seized thread go (on the thread that seized them). */
static void hs_thaw(hosted_src_t *h)
{
	for (size_t i = 0; i < h->nth; i++) {
		hs_thread_t *t = &h->th[i];
		if (t->seized && ptrace(PTRACE_DETACH, t->tid, 0,
					(void *)(long)t->resig) != 0) {
			int st; /* gone meanwhile: reap what tracing holds */
			waitpid(t->tid, &st, __WALL | WNOHANG);
		}
		free(t->xstate);
	}
	free(h->th);
	free(h->thrs);
	h->th = NULL;
	h->thrs = NULL;
	h->nth = 0;
}

/* The core's threads: the crashing one first, from the crash record (its
 * frozen registers are those of its crash handler), with NT_SIGINFO;
 * then every other frozen thread.  -1 out of memory. */
static int hs_threads(hosted_src_t *h, const struct ut_crash_rec *rec)
{
	ut_core_thread_t *c;
	uint32_t tid = rec->tid ? rec->tid : (uint32_t)h->pid;
	size_t n = 1;

	if (!(h->thrs = calloc(h->nth + 1, sizeof(*h->thrs))))
		return -1;
	c = &h->thrs[0];
	c->tid = tid;
	c->signo = rec->kind == UT_CRASH_PANIC ? SIGABRT : rec->signo;
	memcpy(c->regs, rec->regs, sizeof(c->regs));
	memset(&h->si, 0, sizeof(h->si));
	h->si.si_signo = c->signo;
	h->si.si_code = rec->kind == UT_CRASH_PANIC ? SI_TKILL : rec->code;
	if (rec->kind == UT_CRASH_PANIC)
		h->si.si_pid = h->pid;
	else
		h->si.si_addr = (void *)(uintptr_t)rec->fault_addr;
	h->crash_notes[0] = (ut_core_note_t){"CORE", NT_SIGINFO, &h->si,
					     sizeof(h->si)};
	c->notes = h->crash_notes;
	c->nnotes = 1;
	for (size_t i = 0; i < h->nth; i++)
		if (h->th[i].stopped && (uint32_t)h->th[i].tid != tid) {
			thread_notes(&h->th[i]);
			h->thrs[n++] = h->th[i].thr;
		}
	h->s.thr = h->thrs;
	h->s.nthr = n;
	return 0;
}

static void hs_prepare(ut_crash_src_t *s, ut_reader_t *rd,
		       struct ut_crash_rec *rec, bool valid, char *note,
		       size_t notelen)
{
	hosted_src_t *h = (hosted_src_t *)s;
	const char *base;

	(void)rd, (void)rec, (void)valid;
	/* It waits in its crash handler, unless it was killed and its pid
	 * reused. */
	h->same = ut_hosted_same_process(h->t);
	h->pid = h->t->pid;
	h->t = NULL; /* the worker must not touch it */
	if (h->same) {
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/exe", h->pid);
		ssize_t n = readlink(link, h->exe, sizeof(h->exe) - 1);
		h->exe[n > 0 ? n : 0] = 0;
		/* The name is the guest's to choose (a deleted program's
		 * "PATH (deleted)" may now be a FIFO): libdw opens it as the
		 * core's executable, so only if it is a regular file. */
		int fd = h->exe[0] ? ut_open_regular(h->exe) : -1;
		if (fd >= 0) {
			close(fd);
		} else if (h->exe[0]) {
			ut_note_append(note, notelen, "%sthe program's path is "
				       "not a regular file (%s): not read",
				       strerror(errno));
			h->exe[0] = 0;
		}
	} else {
		ut_note_append(note, notelen, "%s%s", "the process is gone or is not "
		       "the one that published the area: no memory to dump");
	}
	s->elf = h->exe[0] ? h->exe : NULL;
	base = strrchr(h->exe, '/');
	snprintf(s->core_name, sizeof(s->core_name), "%s.%d",
		 base ? base + 1 : "guest", h->pid);
}

/* The frozen process's command line (its arguments joined by spaces,
 * cut at the buffer) and real user id, for the crash row. */
static void hs_proc_info(hosted_src_t *h)
{
	char path[64];
	size_t len;
	uint8_t *b;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", h->pid);
	if ((b = slurp(path, &len))) {
		size_t k = len < sizeof(h->s.cmdline) - 1
			   ? len : sizeof(h->s.cmdline) - 1;
		while (k && !b[k - 1]) /* the last argument's NUL */
			k--;
		for (size_t i = 0; i < k; i++)
			h->s.cmdline[i] = b[i] ? (char)b[i] : ' ';
		h->s.cmdline[k] = 0;
		free(b);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", h->pid);
	if ((b = slurp(path, &len))) {
		const char *u = memmem(b, len, "\nUid:", 5);
		char num[24], *end;
		if (u) {
			size_t k = len - (size_t)(u + 5 - (const char *)b);
			k = k < sizeof(num) - 1 ? k : sizeof(num) - 1;
			memcpy(num, u + 5, k);
			num[k] = 0;
			long long v = strtoll(num, &end, 10);
			if (end != num && v >= 0)
				h->s.uid = v;
		}
		free(b);
	}
}

static int hs_open_mem(ut_crash_src_t *s, const struct ut_crash_rec *rec,
		       char *note, size_t notelen)
{
	hosted_src_t *h = (hosted_src_t *)s;
	char err[512];

	if (!h->same)
		return -1;
	hs_freeze(h, note, notelen);
	if (ut_hosted_mem_open(h->pid, &h->m, err, sizeof(err))) {
		ut_note_append(note, notelen, "%sno core: %s", err);
		return -1;
	}
	h->mem_open = true;
	hs_proc_info(h);
	if (h->m.cut[0])
		ut_note_append(note, notelen, "%sbounded capture: %s", h->m.cut);
	s->mem = &h->m.src;
	if (hs_threads(h, rec)) {
		ut_note_append(note, notelen, "%s%s", "out of memory");
		return -1;
	}
	return 0;
}

static size_t hs_core_notes(ut_crash_src_t *s, ut_core_note_t *notes)
{
	hosted_src_t *h = (hosted_src_t *)s;
	const char *base = strrchr(h->exe, '/');
	size_t nn = 0;

	ut_hosted_notes(&h->m, base ? base + 1 : "guest", notes, &nn);
	return nn;
}

static ut_symtab_t *hs_symtab(ut_crash_src_t *s, char *err, size_t errlen)
{
	/* the live process's modules */
	return ut_symtab_pid(((hosted_src_t *)s)->pid, err, errlen);
}

static void hs_release(ut_crash_src_t *s)
{
	hosted_src_t *h = (hosted_src_t *)s;

	if (h->mem_open)
		ut_hosted_mem_close(&h->m);
	h->mem_open = false;
	hs_thaw(h);
}

static void hs_destroy(ut_crash_src_t *s)
{
	free(s);
}

int ut_crash_begin_hosted(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
			  ut_hosted_t *t, const ut_crash_opts_t *o,
			  ut_crash_job_t **job)
{
	hosted_src_t *h = calloc(1, sizeof(*h));

	*job = NULL;
	if (!h)
		return -1;
	h->t = t;
	h->s.what = "";
	h->s.prepare = hs_prepare;
	h->s.open_mem = hs_open_mem;
	h->s.core_notes = hs_core_notes;
	h->s.symtab = hs_symtab;
	h->s.release = hs_release;
	h->s.destroy = hs_destroy;
	return ut_crash_begin(st, guest_id, rd, &h->s, o, job);
}
