/*
 * demo-guest: a program that behaves like a small unikernel network service,
 * instrumented with the unitrace guest library.
 *
 * Each vCPU thread serves synthetic requests: a packet arrives (net_rx), the
 * request is queued (queue_depth), then served as nested spans
 * request > parse > handle > respond, with cache misses, bytes_sent
 * counters, log messages, slow-request warnings and occasional errors.
 * Everything is driven by a seeded xorshift generator, so two runs with the
 * same options emit the same events in the same order on each vCPU.  The
 * workload is examples/common/workload.c, shared with the PVH unikernel
 * (examples/pvh-demo); this file is the hosted platform: threads, options,
 * pacing, the crash kinds that need libc.
 *
 * vCPU 0 is the main thread, as on a unikernel's boot CPU: it initialises
 * the tracer, starts vCPUs 1..N-1, serves requests itself, then joins the
 * others and shuts the tracer down.
 *
 * At exit it prints exactly one line on stdout:
 *     demo-guest: emitted N dropped M
 * (from ut_get_stats); everything else goes to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/workload.h"
#include "trace.h"

/* ---- options ----------------------------------------------------------- */

struct opts {
	unsigned threads;
	double duration;   /* seconds */
	double rate;       /* requests/s in total, 0: as fast as possible */
	double event_rate; /* events/s in total, 0: use rate */
	uint64_t seed;
	const char *name;
	int quiet;
	const char *crash;  /* crash kind to inject, NULL: none */
	double crash_after; /* seconds after start */
};

static struct opts opt = {
	.threads = 4,
	.duration = 2.0,
	.rate = 10000.0,
	.event_rate = 0.0,
	.seed = 1,
	.name = NULL,
	.quiet = 0,
	.crash = NULL,
	.crash_after = 0.3,
};

static atomic_int stop_flag;

/* ---- time -------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t / 1000000000ull),
		.tv_nsec = (long)(t % 1000000000ull),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR) {
		if (atomic_load_explicit(&stop_flag, memory_order_relaxed))
			break;
	}
}

/* ---- the service: examples/common/workload.c ---------------------------- */

struct vcpu {
	struct wl_vcpu w;
	pthread_t thread;
	int bind_rc;
};

static void logf_(struct wl_vcpu *v, uint32_t level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(struct wl_vcpu *v, uint32_t level, const char *fmt, ...)
{
	char msg[UT_LOG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wl_log(v, level, msg);
}

/* ---- crash kinds that need the host: called by parse_cookie ------------- */

static volatile int keep_going = 1;

/* The crash is deliberate: keep sanitizers (make check-asan) from turning
 * it into their own report, so the fault itself happens. */
__attribute__((noinline, no_sanitize("address", "undefined")))
static unsigned recurse_forever(unsigned depth)
{
	volatile char pad[512];
	pad[0] = (char)depth;
	if (!keep_going) /* never false: keeps the compiler from judging */
		return pad[0];
	return recurse_forever(depth + 1) + pad[0];
}

__attribute__((noinline)) static int crash_hosted(const char *kind)
{
	if (!strcmp(kind, "abort"))
		abort();
	if (!strcmp(kind, "stack"))
		return (int)recurse_forever(0);
	return 0;
}

static void *vcpu_main(void *arg)
{
	struct vcpu *vc = arg;
	struct wl_vcpu *v = &vc->w;
	double per_thread;
	uint64_t start, end, batch, done = 0;
	int by_events = opt.event_rate > 0;

	if (v->id != 0) {
		vc->bind_rc = ut_set_vcpu(v->id);
		if (vc->bind_rc)
			fprintf(stderr, "demo-guest: vcpu%u: ut_set_vcpu: %d; "
				"fewer rings than threads? (the tracer now "
				"binds this thread to a ring by itself)\n",
				v->id, vc->bind_rc);
	}
	per_thread = (by_events ? opt.event_rate : opt.rate) / opt.threads;
	/* Check the clock about every millisecond of scheduled work (or
	 * every 64 units when running flat out). */
	batch = per_thread > 0 ? (uint64_t)(per_thread / 1000.0) : 64;
	if (batch < 1)
		batch = 1;

	logf_(v, UT_LOG_INFO, "vcpu%u up", v->id);
	start = now_ns();
	end = start + (uint64_t)(opt.duration * 1e9);
	for (;;) {
		uint64_t next_check = done + batch, t;

		while (done < next_check) {
			wl_serve_one(v);
			done = by_events ? v->events : v->requests;
		}
		if (atomic_load_explicit(&stop_flag, memory_order_relaxed))
			break;
		t = now_ns();
		if (opt.crash && v->id == 0 &&
		    t >= start + (uint64_t)(opt.crash_after * 1e9))
			handle_login(v, opt.crash);
		if (t >= end)
			break;
		if (per_thread > 0) {
			uint64_t due = start + (uint64_t)((double)done / per_thread * 1e9);

			if (due > end)
				due = end;
			if (due > t)
				sleep_until_ns(due);
		}
	}
	logf_(v, UT_LOG_INFO, "vcpu%u down after %" PRIu64 " requests", v->id,
	      v->requests);
	return NULL;
}

/* ---- main -------------------------------------------------------------- */

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: demo-guest [OPTIONS]\n"
		"\n"
		"A synthetic unikernel-style network service instrumented with\n"
		"unitrace: N vCPU threads serve requests as nested spans\n"
		"(request > parse > handle > respond) with counters, instants,\n"
		"log messages and occasional errors.  About 11 events per\n"
		"request.  Run it under 'unitrace run -- demo-guest ...'.\n"
		"\n"
		"  -t, --threads N         vCPU threads (default 4, max %u)\n"
		"  -d, --duration SECONDS  how long to serve (default 2.0)\n"
		"  -r, --rate REQ_PER_S    total requests/s over all vCPUs\n"
		"                          (default 10000; 0: as fast as possible)\n"
		"  -e, --event-rate EV_PER_S\n"
		"                          pace on events/s instead of requests/s\n"
		"  -s, --seed N            pseudo-random seed (default 1)\n"
		"  -n, --name NAME         guest name (default: $UNITRACE_NAME or\n"
		"                          the port's default)\n"
		"  -q, --quiet             no summary on stderr\n"
		"  -c, --crash KIND        crash vCPU 0 on purpose, a few calls\n"
		"                          deep (handle_login > lookup_session >\n"
		"                          parse_cookie): null (NULL dereference),\n"
		"                          abort, ill (illegal instruction), fpe\n"
		"                          (divide by zero), stack (overflow by\n"
		"                          recursion) or panic (ut_panic)\n"
		"  -a, --crash-after S     when to crash (default 0.3 s)\n"
		"  -h, --help              this text\n"
		"\n"
		"At exit it prints one line on stdout:\n"
		"  demo-guest: emitted N dropped M\n"
		"Tracer settings come from the environment when not given here:\n"
		"UNITRACE_DIR, UNITRACE_NAME, UNITRACE_MODE, UNITRACE_RING_SIZE,\n"
		"UNITRACE_RINGS (default here: one ring per thread).\n",
		UT_MAX_RINGS);
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < 0 ? -1 : 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"threads", required_argument, NULL, 't'},
		{"duration", required_argument, NULL, 'd'},
		{"rate", required_argument, NULL, 'r'},
		{"event-rate", required_argument, NULL, 'e'},
		{"seed", required_argument, NULL, 's'},
		{"name", required_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"crash", required_argument, NULL, 'c'},
		{"crash-after", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	char *end;
	unsigned long ul;

	while ((c = getopt_long(argc, argv, "t:d:r:e:s:n:qc:a:h", lopts, NULL)) !=
	       -1) {
		switch (c) {
		case 't':
			errno = 0;
			ul = strtoul(optarg, &end, 10);
			if (errno || *end || ul < 1 || ul > UT_MAX_RINGS) {
				fprintf(stderr, "demo-guest: --threads: expected "
					"1..%u, got '%s'\n", UT_MAX_RINGS, optarg);
				return 2;
			}
			opt.threads = (unsigned)ul;
			break;
		case 'd':
			if (parse_double(optarg, &opt.duration)) {
				fprintf(stderr, "demo-guest: --duration: expected "
					"seconds >= 0, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r':
			if (parse_double(optarg, &opt.rate)) {
				fprintf(stderr, "demo-guest: --rate: expected "
					"requests/s >= 0, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'e':
			if (parse_double(optarg, &opt.event_rate)) {
				fprintf(stderr, "demo-guest: --event-rate: expected "
					"events/s >= 0, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			errno = 0;
			opt.seed = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg) {
				fprintf(stderr, "demo-guest: --seed: expected "
					"an integer, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			opt.name = optarg;
			break;
		case 'q':
			opt.quiet = 1;
			break;
		case 'c':
			if (strcmp(optarg, "null") && strcmp(optarg, "abort") &&
			    strcmp(optarg, "ill") && strcmp(optarg, "fpe") &&
			    strcmp(optarg, "stack") && strcmp(optarg, "panic")) {
				fprintf(stderr, "demo-guest: --crash: expected null, "
					"abort, ill, fpe, stack or panic, got '%s'\n",
					optarg);
				return 2;
			}
			opt.crash = optarg;
			break;
		case 'a':
			if (parse_double(optarg, &opt.crash_after)) {
				fprintf(stderr, "demo-guest: --crash-after: expected "
					"seconds >= 0, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "demo-guest: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	ut_config_t cfg;
	struct vcpu *v;
	ut_stats_t st;
	uint64_t t0, t1, reqs = 0, evs = 0, errs = 0, warns = 0;
	int rc;

	rc = parse_args(argc, argv);
	if (rc)
		return rc;
	wl_setup(&(struct wl_platform){"demo: session table corrupted",
				       crash_hosted});

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = opt.name; /* NULL: $UNITRACE_NAME or the port's default */
	if (!getenv("UNITRACE_RINGS"))
		cfg.nr_rings = opt.threads; /* one ring per vCPU */
	rc = ut_init(&cfg);
	if (rc)
		fprintf(stderr, "demo-guest: ut_init failed (%d); running "
			"untraced\n", rc);

	v = calloc(opt.threads, sizeof(*v));
	if (!v) {
		perror("demo-guest: calloc");
		return 1;
	}
	for (unsigned i = 0; i < opt.threads; i++)
		wl_vcpu_init(&v[i].w, i, opt.seed);

	/* This thread is vCPU 0, the boot CPU. */
	v[0].bind_rc = rc ? 0 : ut_set_vcpu(0);
	if (v[0].bind_rc)
		fprintf(stderr, "demo-guest: vcpu0: ut_set_vcpu: %d\n",
			v[0].bind_rc);
	logf_(&v[0].w, UT_LOG_INFO, "demo-guest booting: %u vCPUs, %.3g s, "
	      "%.0f %s/s, seed %" PRIu64, opt.threads, opt.duration,
	      opt.event_rate > 0 ? opt.event_rate : opt.rate,
	      opt.event_rate > 0 ? "events" : "requests", opt.seed);

	t0 = now_ns();
	for (unsigned i = 1; i < opt.threads; i++) {
		rc = pthread_create(&v[i].thread, NULL, vcpu_main, &v[i]);
		if (rc) {
			fprintf(stderr, "demo-guest: pthread_create: %s\n",
				strerror(rc));
			atomic_store(&stop_flag, 1);
			opt.threads = i;
			break;
		}
	}
	vcpu_main(&v[0]);
	for (unsigned i = 1; i < opt.threads; i++)
		pthread_join(v[i].thread, NULL);
	t1 = now_ns();

	for (unsigned i = 0; i < opt.threads; i++) {
		reqs += v[i].w.requests;
		evs += v[i].w.events;
		errs += v[i].w.errors;
		warns += v[i].w.warnings;
	}
	logf_(&v[0].w, UT_LOG_INFO, "demo-guest halting: %" PRIu64
	      " requests, %" PRIu64 " errors", reqs, errs);
	evs++;

	ut_shutdown();
	ut_get_stats(&st);

	if (!opt.quiet) {
		double secs = (double)(t1 - t0) / 1e9;

		fprintf(stderr,
			"demo-guest: %u vCPUs, %.2f s: %" PRIu64 " requests "
			"(%.0f/s), %" PRIu64 " tracepoint calls (%.0f/s, "
			"%.1f per request), %" PRIu64 " errors, %" PRIu64
			" warnings\n",
			opt.threads, secs, reqs, secs > 0 ? reqs / secs : 0.0,
			evs, secs > 0 ? evs / secs : 0.0,
			reqs ? (double)evs / reqs : 0.0, errs, warns);
	}
	printf("demo-guest: emitted %" PRIu64 " dropped %" PRIu64 "\n",
	       st.emitted, st.dropped);
	fflush(stdout);
	free(v);
	return 0;
}
