/*
 * The hosted port: the guest is a Linux process (a linuxu-style unikernel,
 * a Solo5 spt tender's guest, or any C program).
 *
 * - Shared pages: a memfd sealed against shrinking and growing, so the
 *   collector that maps it can never be hit by SIGBUS from a truncation.
 * - Rendezvous: a symlink NAME.PID.ut -> /proc/PID/fd/N in the rendezvous
 *   directory; the collector opens it to get its own descriptor on the
 *   memfd.  The guest holds an exclusive flock on the memfd for as long as
 *   it lives, so the collector learns of its death without trusting a pid.
 * - Clock: the TSC when the CPU says it is invariant, calibrated against
 *   CLOCK_MONOTONIC; otherwise CLOCK_MONOTONIC itself.
 * - vCPU: a thread-local ring index.
 * - Crashes: handlers for the fatal signals run on a per-thread alternate
 *   stack (so a stack overflow is caught too), fill the crash record from
 *   the signal context, wait (bounded) for the collector to capture the
 *   process, then let it die of its original signal.
 * - Control: a thread serving `unitrace ctl` on an abstract Unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ut_ctl.h"
#include "ut_hosted_dir.h"
#include "ut_port.h"

#define UT_HOSTED_DEFAULT_RINGS 8u

static int ut_fd = -1;
static char ut_link[PATH_MAX];
static __thread int ut_tls_vcpu = -1;
static __thread bool ut_tls_altstack;
static struct ut_area_hdr *ut_hdr;

#define UT_ALTSTACK_SIZE (64 * 1024)
static const int ut_fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE,
				       SIGABRT, SIGTRAP};

/* Parse a size with an optional K/M/G suffix; 0 on error. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	return *end ? 0 : v;
}

static void warn_env(const char *var, const char *val)
{
	fprintf(stderr, "unitrace: ignoring %s=%s (invalid)\n", var, val);
}

void ut_port_defaults(ut_config_t *cfg)
{
	const char *s;

	if (!cfg->name) {
		s = getenv("UNITRACE_NAME");
		cfg->name = s && *s ? s : program_invocation_short_name;
	}
	if (!cfg->nr_rings) {
		s = getenv("UNITRACE_RINGS");
		uint64_t n = parse_size(s);
		if (s && (n == 0 || n > UT_MAX_RINGS))
			warn_env("UNITRACE_RINGS", s);
		cfg->nr_rings = n && n <= UT_MAX_RINGS ? (uint32_t)n
						       : UT_HOSTED_DEFAULT_RINGS;
	}
	if (!cfg->ring_size) {
		s = getenv("UNITRACE_RING_SIZE");
		uint64_t n = parse_size(s);
		if (s && (n < UT_MIN_RING_SIZE || n > UT_MAX_RING_SIZE ||
			  (n & (n - 1))))
			warn_env("UNITRACE_RING_SIZE", s);
		else if (s)
			cfg->ring_size = (uint32_t)n;
	}
	if (cfg->mode == UT_CFG_MODE_DEFAULT) {
		s = getenv("UNITRACE_MODE");
		cfg->mode = UT_CFG_MODE_DISCARD;
		if (s && !strcmp(s, "overwrite"))
			cfg->mode = UT_CFG_MODE_OVERWRITE;
		else if (s && strcmp(s, "discard"))
			warn_env("UNITRACE_MODE", s);
	}
}

void *ut_port_alloc_shared(size_t bytes)
{
	void *p;
	int fd;

	fd = memfd_create("unitrace", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		perror("unitrace: memfd_create");
		return NULL;
	}
	if (ftruncate(fd, (off_t)bytes) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		perror("unitrace: sizing the shared area");
		close(fd);
		return NULL;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("unitrace: mmap");
		close(fd);
		return NULL;
	}
	ut_fd = fd;
	return p;
}

static uint64_t ts_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ticks(void)
{
	return ts_ns(CLOCK_MONOTONIC);
}

/* True if /proc/cpuinfo says the TSC runs at a constant rate through
 * sleep states, so it can stand for time across vCPUs. */
static bool tsc_invariant(void)
{
#if defined(__x86_64__)
	char line[4096];
	bool c = false, n = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		c = strstr(line, " constant_tsc") != NULL;
		n = strstr(line, " nonstop_tsc") != NULL;
		break;
	}
	fclose(f);
	return c && n;
#else
	return false;
#endif
}

ut_ticks_fn ut_port_clock(struct ut_area_hdr *h)
{
	const char *want = getenv("UNITRACE_CLOCK");
	uint64_t m0, t0, m1, t1, mono, real;

	if ((want && !strcmp(want, "mono")) || !tsc_invariant()) {
		mono = ts_ns(CLOCK_MONOTONIC);
		real = ts_ns(CLOCK_REALTIME);
		h->clock_source = UT_CLOCK_NS;
		h->clock_mult = 1;
		h->clock_shift = 0;
		h->clock_ticks_ref = mono;
		h->clock_ns_ref = mono;
		h->clock_realtime_ref = real;
		h->clock_hz = 1000000000ull;
		return mono_ticks;
	}
	/* Two (monotonic, tsc) pairs 20 ms apart; each tsc read is bracketed
	 * by clock reads and taken at their midpoint. */
	uint64_t a = ts_ns(CLOCK_MONOTONIC);
	t0 = ut_arch_ticks();
	m0 = a + (ts_ns(CLOCK_MONOTONIC) - a) / 2;
	struct timespec nap = {0, 20 * 1000 * 1000};
	nanosleep(&nap, NULL);
	a = ts_ns(CLOCK_MONOTONIC);
	t1 = ut_arch_ticks();
	m1 = a + (ts_ns(CLOCK_MONOTONIC) - a) / 2;
	real = ts_ns(CLOCK_REALTIME) - (ts_ns(CLOCK_MONOTONIC) - m1);

	h->clock_source = UT_CLOCK_TSC;
	h->clock_shift = 32;
	h->clock_mult = (uint64_t)(((unsigned __int128)(m1 - m0) << 32) / (t1 - t0));
	h->clock_ticks_ref = t1;
	h->clock_ns_ref = m1;
	h->clock_realtime_ref = real;
	h->clock_hz = (uint64_t)((unsigned __int128)(t1 - t0) * 1000000000u / (m1 - m0));
	return NULL;
}

void ut_port_identity(struct ut_area_hdr *h)
{
	h->pid = (uint32_t)getpid();
	memcpy(h->platform, "hosted", 7);
}

static long env_ms(const char *var, long dflt)
{
	const char *s = getenv(var);
	char *end;
	long v;

	if (!s || !*s)
		return dflt;
	v = strtol(s, &end, 10);
	return *end || v < 0 ? dflt : v;
}

/* Wait up to (ms) for collector_state to reach at least (want). */
static bool wait_collector(struct ut_area_hdr *h, uint32_t want, long ms)
{
	struct timespec nap = {0, 1000 * 1000};
	for (long i = 0; i <= ms; i++) {
		if (ut_load_acquire(&h->collector_state) >= want)
			return true;
		nanosleep(&nap, NULL);
	}
	return false;
}

/* Give the calling thread an alternate signal stack, once. */
static void ensure_altstack(void)
{
	stack_t ss;

	if (ut_tls_altstack)
		return;
	ut_tls_altstack = true;
	ss.ss_sp = mmap(NULL, UT_ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ss.ss_sp == MAP_FAILED)
		return;
	ss.ss_size = UT_ALTSTACK_SIZE;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0)
		munmap(ss.ss_sp, UT_ALTSTACK_SIZE);
}

static const char *signal_reason(int sig)
{
	switch (sig) {
	case SIGSEGV: return "segmentation fault (SIGSEGV)";
	case SIGBUS: return "bus error (SIGBUS)";
	case SIGILL: return "illegal instruction (SIGILL)";
	case SIGFPE: return "arithmetic exception (SIGFPE)";
	case SIGABRT: return "aborted (SIGABRT)";
	case SIGTRAP: return "trace/breakpoint trap (SIGTRAP)";
	default: return "fatal signal";
	}
}

/* The registers of the interrupted context, in user_regs_struct order. */
static void regs_from_context(const ucontext_t *uc, uint64_t *r)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	uint64_t csgsfs = (uint64_t)g[REG_CSGSFS];

	memset(r, 0, sizeof(uint64_t) * UT_CRASH_NREGS);
	r[UT_X86_R15] = (uint64_t)g[REG_R15];
	r[UT_X86_R14] = (uint64_t)g[REG_R14];
	r[UT_X86_R13] = (uint64_t)g[REG_R13];
	r[UT_X86_R12] = (uint64_t)g[REG_R12];
	r[UT_X86_RBP] = (uint64_t)g[REG_RBP];
	r[UT_X86_RBX] = (uint64_t)g[REG_RBX];
	r[UT_X86_R11] = (uint64_t)g[REG_R11];
	r[UT_X86_R10] = (uint64_t)g[REG_R10];
	r[UT_X86_R9] = (uint64_t)g[REG_R9];
	r[UT_X86_R8] = (uint64_t)g[REG_R8];
	r[UT_X86_RAX] = (uint64_t)g[REG_RAX];
	r[UT_X86_RCX] = (uint64_t)g[REG_RCX];
	r[UT_X86_RDX] = (uint64_t)g[REG_RDX];
	r[UT_X86_RSI] = (uint64_t)g[REG_RSI];
	r[UT_X86_RDI] = (uint64_t)g[REG_RDI];
	r[UT_X86_ORIG_RAX] = (uint64_t)-1;
	r[UT_X86_RIP] = (uint64_t)g[REG_RIP];
	r[UT_X86_CS] = csgsfs & 0xffff;
	r[UT_X86_EFLAGS] = (uint64_t)g[REG_EFL];
	r[UT_X86_RSP] = (uint64_t)g[REG_RSP];
	r[UT_X86_SS] = (csgsfs >> 48) & 0xffff;
	r[UT_X86_FS_BASE] = (uint64_t)pthread_self(); /* glibc: TCB = fs base */
}

/* After ut_crash: true if this thread's crash is the recorded one, so this
 * thread ends the process.  With a collector attached every caller of
 * ut_crash returns only once the record is complete; without one, or
 * without an area, the first signal to get here wins. */
static bool crash_owner(int sig, uint32_t tid)
{
	static int first_sig;
	const struct ut_area_hdr *h = ut_hdr;
	int none = 0;

	if (h && ut_load_acquire(&h->state) == UT_STATE_CRASHED) {
		const struct ut_crash_rec *c = (const struct ut_crash_rec *)
			((const uint8_t *)h + h->crash_off);
		if (ut_load_acquire(&c->magic) == UT_CRASH_MAGIC)
			return c->kind == UT_CRASH_SIGNAL && c->tid == tid;
	}
	return __atomic_compare_exchange_n(&first_sig, &none, sig, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void crash_handler(int sig, siginfo_t *si, void *ucv)
{
	uint64_t regs[UT_CRASH_NREGS];
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	struct sigaction dfl;
	sigset_t set;
	int saved = errno;

	regs_from_context((const ucontext_t *)ucv, regs);
	/* Under Yama ptrace_scope=1, allow the collector before the record
	 * makes us CRASHED: it may freeze us with ptrace at once (the
	 * hand-off allows it too, but later). */
	if (ut_hdr && ut_load_acquire(&ut_hdr->collector_state) ==
		      UT_COLL_ATTACHED)
		prctl(PR_SET_PTRACER, (unsigned long)ut_load_acquire(
			&ut_hdr->collector_pid), 0, 0, 0);
	ut_crash(UT_CRASH_SIGNAL, sig, si->si_code,
		 (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
		  sig == SIGFPE) ? (uint64_t)si->si_addr : 0,
		 regs, tid, signal_reason(sig));
	errno = saved;
	if (!crash_owner(sig, tid)) {
		/* Another thread's crash is the recorded one (this one is its
		 * second_signo): wait for that thread to end the process, so
		 * the exit status is the recorded crash's. */
		sigfillset(&set);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		for (;;)
			pause();
	}
	/* No SA_RESETHAND (a second thread faulting meanwhile would die of
	 * the default action in the middle of the capture): restore the
	 * default action now, and re-raise so the process dies of its
	 * original signal (a fault would re-fault, a SIGTRAP or a kill()
	 * would not). */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	raise(sig);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void install_crash_handlers(void)
{
	struct sigaction sa;
	const char *s = getenv("UNITRACE_CRASH_HANDLERS");

	if (s && !strcmp(s, "0"))
		return;
	ensure_altstack();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(ut_fatal_signals) / sizeof(int); i++) {
		struct sigaction old;
		/* Leave handlers the program installed itself alone. */
		if (sigaction(ut_fatal_signals[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_DFL)
			continue;
		sigaction(ut_fatal_signals[i], &sa, NULL);
	}
}

void ut_port_crash_handoff(struct ut_area_hdr *h)
{
	struct timespec nap = {0, 1000 * 1000};
	long ms;

	if (ut_load_acquire(&h->collector_state) == UT_COLL_NONE)
		return;
	/* Let the collector read our memory even under Yama ptrace_scope=1
	 * when it is not our parent. */
	prctl(PR_SET_PTRACER, (unsigned long)ut_load_acquire(&h->collector_pid),
	      0, 0, 0);
	ms = env_ms("UNITRACE_CRASH_WAIT_MS", 30000);
	for (long i = 0; i < ms; i++) {
		if (ut_load_acquire(&h->collector_state) != UT_COLL_ATTACHED)
			return;
		nanosleep(&nap, NULL);
	}
}

void ut_port_die(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGABRT, &sa, NULL);
	abort();
}

/* ---- control channel ------------------------------------------------------
 * `unitrace ctl` connects to the abstract Unix socket
 * "\0unitrace-ctl.<pid>" (formats/ut_ctl.h): no file to create or clean up,
 * it disappears with the process.  Abstract sockets have no file
 * permissions, so the peer's credentials are checked instead: the same
 * user or root.  One thread serves one client at a time; a client that
 * stalls mid-message is dropped after a few seconds. */

/* Move exactly (n) bytes in or out; false on EOF, error or timeout. */
static bool xfer_full(int fd, void *buf, size_t n, bool out)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = out ? send(fd, p, n, MSG_NOSIGNAL) : read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return false;
	return cr.uid == geteuid() || cr.uid == 0;
}

static void serve_client(int fd)
{
	uint8_t req[UT_CTL_HDR_SIZE + UT_CTL_MAX_REQ];
	uint8_t rsp[UT_CTL_HDR_SIZE + UT_CTL_MAX_RSP];
	struct timeval to = {5, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof(to));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &to, sizeof(to));
	while (xfer_full(fd, req, UT_CTL_HDR_SIZE, false)) {
		int n = ut_ctl_frame(req);
		uint32_t len = UT_CTL_HDR_SIZE;

		if (n > (int)UT_CTL_HDR_SIZE &&
		    !xfer_full(fd, req + UT_CTL_HDR_SIZE, (size_t)n - UT_CTL_HDR_SIZE,
			       false))
			return;
		if (n > 0)
			len = (uint32_t)n;
		/* a bad frame gets an EBADMSG answer, then the stream ends */
		if (!xfer_full(fd, rsp, ut_ctl_handle(req, len, rsp, sizeof(rsp)), true) ||
		    n < 0)
			return;
	}
}

static void *ctl_thread(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are the program's */
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				sleep(1);
				continue;
			}
			return NULL;
		}
		if (peer_allowed(c)) {
			serve_client(c);
		} else {
			struct ut_ctl_msg no = {.magic = UT_CTL_MAGIC,
						.status = UT_CTL_EPERM};
			xfer_full(c, &no, sizeof(no), true);
		}
		close(c);
	}
}

int ut_port_ctl_poll(void)
{
	return 0; /* served by ctl_thread */
}

static void start_ctl_thread(void)
{
	const char *s = getenv("UNITRACE_CTL");
	struct sockaddr_un sa;
	pthread_attr_t a;
	pthread_t t;
	socklen_t salen;
	int fd, n;

	if (s && !strcmp(s, "0"))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s%d",
		     UT_CTL_SOCK_PREFIX, (int)getpid());
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, salen) != 0 ||
	    listen(fd, 4) != 0) {
		fprintf(stderr, "unitrace: no control channel (%s): unitrace ctl "
			"will not reach this program\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	if (pthread_create(&t, &a, ctl_thread, (void *)(intptr_t)fd) != 0) {
		fprintf(stderr, "unitrace: no control thread: unitrace ctl "
			"will not reach this program\n");
		close(fd);
	}
	pthread_attr_destroy(&a);
}

static void at_exit_shutdown(void)
{
	ut_shutdown();
}

int ut_port_publish(struct ut_area_hdr *h, size_t bytes)
{
	char dir[PATH_MAX - 128], target[64];
	(void)bytes;

	ut_hosted_rendezvous_dir(dir, sizeof(dir));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "unitrace: cannot create rendezvous directory %s: %s\n",
			dir, strerror(errno));
		return -1;
	}
	/* Publishing into a directory another user controls would let them
	 * hijack or hide this guest. */
	struct stat st;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022)) {
		fprintf(stderr, "unitrace: rendezvous directory %s is not a "
			"directory owned by this user and writable only by it; "
			"not tracing\n", dir);
		return -1;
	}
	if (flock(ut_fd, LOCK_EX) != 0) {
		perror("unitrace: flock");
		return -1;
	}
	snprintf(target, sizeof(target), "/proc/%d/fd/%d", (int)getpid(), ut_fd);
	snprintf(ut_link, sizeof(ut_link), "%s/%.*s.%d" UT_HOSTED_ENTRY_SUFFIX,
		 dir, UT_HOSTED_NAME_MAX, h->name, (int)getpid());
	for (char *c = strrchr(ut_link, '/') + 1; *c; c++)
		if (*c == '/' || *c < ' ')
			*c = '_';
	unlink(ut_link);
	if (symlink(target, ut_link) != 0) {
		fprintf(stderr, "unitrace: cannot publish %s: %s\n", ut_link,
			strerror(errno));
		ut_link[0] = 0;
		return -1;
	}
	atexit(at_exit_shutdown);
	ut_hdr = h;
	install_crash_handlers();
	start_ctl_thread();
	/* `unitrace run` asks the guest to wait until it is attached, so a
	 * short-lived program loses nothing. */
	long ms = env_ms("UNITRACE_WAIT_ATTACH_MS", 0);
	if (ms && !wait_collector(h, UT_COLL_ATTACHED, ms))
		fprintf(stderr, "unitrace: no collector attached within %ld ms; "
				"tracing anyway\n", ms);
	return 0;
}

/* True if the collector that announced itself in (h) is no more: killed
 * (SIGKILL), it could not set collector_state back to NONE. */
static bool collector_gone(struct ut_area_hdr *h)
{
	uint32_t pid = ut_load_acquire(&h->collector_pid);

	return pid && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Wait up to (ms) for a collector whose process lives to be attached. */
static void wait_live_collector(struct ut_area_hdr *h, long ms)
{
	struct timespec nap = {0, 1000 * 1000};

	for (long i = 0; i <= ms; i++) {
		if (ut_load_acquire(&h->collector_state) >= UT_COLL_ATTACHED &&
		    !collector_gone(h))
			return;
		nanosleep(&nap, NULL);
	}
}

void ut_port_unpublish(struct ut_area_hdr *h)
{
	/* An attached collector holds its own descriptor on the memfd, so the
	 * rings outlive this process and it needs nothing more from us.  One
	 * that has not attached yet, or attached and was killed since, can be
	 * waited for, if asked. */
	long ms = env_ms("UNITRACE_EXIT_WAIT_MS", 0);
	uint32_t cs = ut_load_acquire(&h->collector_state);
	if (ms && cs == UT_COLL_NONE)
		wait_collector(h, UT_COLL_ATTACHED, ms);
	else if (ms && cs == UT_COLL_ATTACHED && collector_gone(h))
		wait_live_collector(h, ms);
	if (ut_link[0])
		unlink(ut_link);
	ut_link[0] = 0;
}

int ut_port_vcpu(void)
{
	return ut_tls_vcpu;
}

void ut_port_set_vcpu(int vcpu)
{
	ut_tls_vcpu = vcpu;
	if (ut_hdr)
		ensure_altstack(); /* so a stack overflow here is caught */
}

void ut_port_notify(uint32_t ring)
{
	/* The hosted collector polls; nothing to do. */
	(void)ring;
}
