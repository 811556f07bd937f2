/*
 * demo-guest: a program that behaves like a small unikernel network service,
 * instrumented with the unitrace guest library.
 *
 * Each vCPU thread serves synthetic requests: a packet arrives (net_rx), the
 * request is queued (queue_depth), then served as nested spans
 * request > parse > handle > respond, with cache misses, bytes_sent
 * counters, log messages, slow-request warnings and occasional errors.
 * Everything is driven by a seeded xorshift generator, so two runs with the
 * same options emit the same events in the same order on each vCPU.
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

#include "trace.h"

/* ---- the events this service emits ------------------------------------ */

UT_SPAN(request, UT_U64(req_id), UT_STR(method, 8), UT_STR(path, 48))
UT_SPAN(parse, UT_U64(req_id), UT_U32(hdr_bytes))
UT_SPAN(handle, UT_U64(req_id), UT_STR(handler, 16))
UT_SPAN(respond, UT_U64(req_id), UT_U16(status), UT_U32(bytes))
UT_COUNTER(queue_depth, UT_U32(depth))
UT_COUNTER(bytes_sent, UT_U64(total))
UT_INSTANT(net_rx, UT_U32(len), UT_U16(port), UT_STR(ifname, 16))
UT_INSTANT(cache_miss, UT_X64(key), UT_U8(level))
UT_INSTANT(error, UT_U64(req_id), UT_S32(code), UT_STR(what, 32))
UT_INSTANT(crash_imminent, UT_STR(kind, 16), UT_U32(vcpu))

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

/* ---- deterministic pseudo-random numbers (xorshift64*) ---------------- */

static uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n). */
static uint32_t rnd_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rnd_next(s) >> 32) * (uint64_t)n) >> 32);
}

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

/* ---- the synthetic service --------------------------------------------- */

static const char *const methods[] = {"GET", "GET", "GET", "POST", "PUT",
				      "DELETE"};
static const char *const paths[] = {
	"/", "/index.html", "/static/app.js", "/static/style.css",
	"/api/v1/users", "/api/v1/users/42", "/api/v1/orders",
	"/api/v1/orders/1337/items", "/health", "/metrics",
};
static const char *const handlers[] = {
	"static", "static", "static", "static", "users",
	"users", "orders", "orders", "health", "metrics",
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))
/* Request ids carry the vCPU in the top byte; logs show the sequence. */
#define REQ_SEQ_MASK ((uint64_t)0x00ffffffffffffffull)

struct vcpu {
	pthread_t thread;
	unsigned id;
	uint64_t rng;
	uint64_t next_req;   /* request ids: vcpu in the top byte */
	uint32_t queue;      /* synthetic queue depth */
	uint64_t bytes_sent; /* cumulative */
	uint64_t requests;   /* served */
	uint64_t events;     /* tracepoint calls made (incl. ut_log) */
	uint64_t errors, warnings;
	volatile uint64_t sink; /* keeps the simulated work alive */
	int bind_rc;
};

/* Spin for a few hundred nanoseconds of "work" so spans have a width. */
static void work(struct vcpu *v, unsigned rounds)
{
	uint64_t h = v->sink;

	for (unsigned i = 0; i < rounds; i++)
		h = (h ^ i) * 0x100000001b3ull;
	v->sink = h;
}

static void logf_(struct vcpu *v, uint32_t level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(struct vcpu *v, uint32_t level, const char *fmt, ...)
{
	char msg[UT_LOG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ut_log(level, msg);
	v->events++;
}

/* Serve one request; every tracepoint call is counted in v->events. */
static void serve_one(struct vcpu *v)
{
	uint64_t *r = &v->rng;
	uint64_t id = ((uint64_t)v->id << 56) | v->next_req++;
	unsigned p = rnd_below(r, NPATHS);
	const char *method = methods[rnd_below(r, 6)];
	uint32_t len = 64 + rnd_below(r, 1437); /* 64..1500 */
	uint32_t roll = rnd_below(r, 1000);
	uint16_t status = 200;
	uint32_t bytes;

	/* The packet arrives and the request is queued. */
	ut_net_rx(len, (uint16_t)(rnd_below(r, 8) ? 80 : 443),
		  v->id & 1 ? "eth1" : "eth0");
	if (v->queue < 3 || rnd_below(r, 2))
		v->queue++;
	else
		v->queue -= 2;
	ut_queue_depth(v->queue);
	v->events += 2;

	ut_request_begin(id, method, paths[p]);
	v->events++;

	ut_parse_begin(id, len / 4);
	work(v, 20 + (len >> 4));
	ut_parse_end();
	v->events += 2;

	ut_handle_begin(id, handlers[p]);
	v->events++;
	if (rnd_below(r, 4) == 0) {
		ut_cache_miss(rnd_next(r), (uint8_t)(1 + rnd_below(r, 3)));
		v->events++;
		work(v, 200);
	}
	work(v, 50 + rnd_below(r, 100));
	if (roll < 5) {
		/* 0.5%: the backend fails. */
		status = 500;
		ut_error(id, -110, "backend timeout");
		logf_(v, UT_LOG_ERROR, "vcpu%u req %" PRIu64 ": %s %s: backend timeout",
		      v->id, id & REQ_SEQ_MASK, method, paths[p]);
		v->events++;
		v->errors++;
	} else if (roll < 35) {
		status = 404;
	} else if (roll < 45) {
		/* 1%: slow request. */
		work(v, 2000);
		logf_(v, UT_LOG_WARN, "vcpu%u req %" PRIu64 ": slow handler '%s'",
		      v->id, id & REQ_SEQ_MASK, handlers[p]);
		v->warnings++;
	} else if (roll < 145) {
		status = 304;
	}
	ut_handle_end();
	v->events++;

	bytes = status == 200 ? 512 + rnd_below(r, 65536)
				: status == 304 ? 0 : 128 + rnd_below(r, 256);
	ut_respond_begin(id, status, bytes);
	work(v, 10 + bytes / 2048);
	ut_respond_end();
	v->bytes_sent += bytes;
	ut_bytes_sent(v->bytes_sent);
	v->events += 3;

	ut_request_end();
	v->events++;
	if (v->queue)
		v->queue--;
	v->requests++;

	if (v->requests % 2000 == 0)
		logf_(v, UT_LOG_INFO, "vcpu%u: %" PRIu64 " requests served, %" PRIu64
		      " bytes sent", v->id, v->requests, v->bytes_sent);
}

/* ---- crash injection: a few calls deep, like a real bug --------------- */

static volatile int *volatile bad_ptr;  /* NULL */
static volatile int divisor;            /* 0 */
static volatile int dividend = 100;
static volatile int crash_sink;         /* results kept: no tail calls */

static volatile int keep_going = 1;

/* The crashes below are deliberate: keep sanitizers (make check-asan) from
 * turning them into their own reports, so the fault itself happens. */
#define DELIBERATE_UB __attribute__((noinline, no_sanitize("address", "undefined")))

DELIBERATE_UB static unsigned recurse_forever(unsigned depth)
{
	volatile char pad[512];
	pad[0] = (char)depth;
	if (!keep_going) /* never false: keeps the compiler from judging */
		return pad[0];
	return recurse_forever(depth + 1) + pad[0];
}

DELIBERATE_UB static int parse_cookie(const char *kind)
{
	if (!strcmp(kind, "null"))
		return *bad_ptr = 42;
	if (!strcmp(kind, "abort"))
		abort();
	if (!strcmp(kind, "ill"))
		__builtin_trap();
	if (!strcmp(kind, "fpe"))
		return crash_sink = dividend / divisor;
	if (!strcmp(kind, "stack"))
		return (int)recurse_forever(0);
	if (!strcmp(kind, "panic"))
		ut_panic("demo: session table corrupted");
	return 0;
}

__attribute__((noinline)) static int lookup_session(const char *kind)
{
	crash_sink = parse_cookie(kind) + 1;
	return crash_sink;
}

__attribute__((noinline)) static int handle_login(struct vcpu *v)
{
	ut_crash_imminent(opt.crash, v->id);
	v->events++;
	crash_sink = lookup_session(opt.crash) + 1;
	return crash_sink;
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	double per_thread;
	uint64_t start, end, batch, done = 0;
	int by_events = opt.event_rate > 0;

	if (v->id != 0) {
		v->bind_rc = ut_set_vcpu(v->id);
		if (v->bind_rc)
			fprintf(stderr, "demo-guest: vcpu%u: ut_set_vcpu: %d; "
				"fewer rings than threads? (the tracer now "
				"binds this thread to a ring by itself)\n",
				v->id, v->bind_rc);
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
			serve_one(v);
			done = by_events ? v->events : v->requests;
		}
		if (atomic_load_explicit(&stop_flag, memory_order_relaxed))
			break;
		t = now_ns();
		if (opt.crash && v->id == 0 &&
		    t >= start + (uint64_t)(opt.crash_after * 1e9))
			handle_login(v);
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
	for (unsigned i = 0; i < opt.threads; i++) {
		v[i].id = i;
		/* Distinct, never-zero xorshift state per vCPU. */
		v[i].rng = (opt.seed + 1) * 0x9e3779b97f4a7c15ull ^
			   ((uint64_t)(i + 1) << 32);
		if (!v[i].rng)
			v[i].rng = 1;
		v[i].next_req = 1;
	}

	/* This thread is vCPU 0, the boot CPU. */
	v[0].bind_rc = rc ? 0 : ut_set_vcpu(0);
	if (v[0].bind_rc)
		fprintf(stderr, "demo-guest: vcpu0: ut_set_vcpu: %d\n",
			v[0].bind_rc);
	logf_(&v[0], UT_LOG_INFO, "demo-guest booting: %u vCPUs, %.3g s, "
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
		reqs += v[i].requests;
		evs += v[i].events;
		errs += v[i].errors;
		warns += v[i].warnings;
	}
	logf_(&v[0], UT_LOG_INFO, "demo-guest halting: %" PRIu64
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
