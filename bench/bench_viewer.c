/*
 * bench_viewer: how `unitrace view` scales with the trace size.
 *
 * Generates two traces through the real store (ut_store_*): a small one
 * (default 100 k events) and a large one (default 10 M), with the demo
 * guest's shape (2 guests x 4 vCPUs; request > parse/handle/respond spans,
 * net_rx instants, a queue_depth counter, a log line every 64 requests),
 * written in per-lane chunks (default 2048 events) like the collector's
 * drains.
 * Then runs `unitrace view --bench` on each (a curses screen on /dev/null:
 * first screen, zoom steps from the whole trace down to ns, pan steps at
 * four zoom levels) and prints its figures, its peak RSS measured by
 * wait4(), and the large/small ratios.  Figures, never pass/fail.
 *
 *   bench_viewer [-n EVENTS] [-s EVENTS] [-c CHUNK] [--keep DIR]
 *                [--unitrace PATH]
 *
 * -c CHUNK: events per lane per drain (default 2048; the demo under the
 * real collector makes ~200, which means ten times more event_blocks rows
 * for the summary to read at open).
 * --keep DIR keeps the traces in DIR and reuses them on the next run.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "collector.h"

#define NGUESTS 2
#define NVCPUS 4
#define NLANES (NGUESTS * NVCPUS)
static int chunk = 2048; /* events per lane per drain */
#define PER_COMMIT 100000

enum { T_REQ_B, T_REQ_E, T_PARSE_B, T_PARSE_E, T_HANDLE_B, T_HANDLE_E,
       T_RESP_B, T_RESP_E, T_NET_RX, T_QUEUE, T_LOG, NT };

static ut_evtype_t types[NGUESTS][NT];

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_viewer: %s: %s\n", what, msg);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void field(ut_evtype_t *t, int i, const char *name, uint8_t type,
		  uint16_t max_len)
{
	snprintf(t->fields[i].name, sizeof(t->fields[i].name), "%s", name);
	t->fields[i].type = type;
	t->fields[i].max_len = max_len;
	if (i + 1 > t->nfields)
		t->nfields = (uint8_t)(i + 1);
}

static void make_types(void)
{
	static const struct { const char *name; uint8_t kind; } d[NT] = {
		[T_REQ_B] = { "request", UT_KIND_SPAN_BEGIN },
		[T_REQ_E] = { "request", UT_KIND_SPAN_END },
		[T_PARSE_B] = { "parse", UT_KIND_SPAN_BEGIN },
		[T_PARSE_E] = { "parse", UT_KIND_SPAN_END },
		[T_HANDLE_B] = { "handle", UT_KIND_SPAN_BEGIN },
		[T_HANDLE_E] = { "handle", UT_KIND_SPAN_END },
		[T_RESP_B] = { "respond", UT_KIND_SPAN_BEGIN },
		[T_RESP_E] = { "respond", UT_KIND_SPAN_END },
		[T_NET_RX] = { "net_rx", UT_KIND_INSTANT },
		[T_QUEUE] = { "queue_depth", UT_KIND_COUNTER },
		[T_LOG] = { "log", UT_KIND_LOG },
	};
	for (int g = 0; g < NGUESTS; g++)
		for (int i = 0; i < NT; i++) {
			ut_evtype_t *t = &types[g][i];
			memset(t, 0, sizeof(*t));
			t->id = (uint16_t)(16 + i);
			t->kind = d[i].kind;
			snprintf(t->name, sizeof(t->name), "%s", d[i].name);
			switch (i) {
			case T_REQ_B:
				field(t, 0, "req_id", UT_T_U64, 0);
				field(t, 1, "method", UT_T_STR, 8);
				field(t, 2, "path", UT_T_STR, 48);
				break;
			case T_PARSE_B:
				field(t, 0, "req_id", UT_T_U64, 0);
				field(t, 1, "hdr_bytes", UT_T_U32, 0);
				break;
			case T_HANDLE_B:
				field(t, 0, "req_id", UT_T_U64, 0);
				field(t, 1, "handler", UT_T_STR, 16);
				break;
			case T_RESP_B:
				field(t, 0, "req_id", UT_T_U64, 0);
				field(t, 1, "status", UT_T_U16, 0);
				field(t, 2, "bytes", UT_T_U32, 0);
				break;
			case T_NET_RX:
				field(t, 0, "len", UT_T_U32, 0);
				field(t, 1, "port", UT_T_U16, 0);
				break;
			case T_QUEUE:
				field(t, 0, "depth", UT_T_U32, 0);
				break;
			case T_LOG:
				field(t, 0, "level", UT_T_U8, 0);
				field(t, 1, "msg", UT_T_STR, 64);
				break;
			}
		}
}

/* The per-lane generator: a request is 11 events (log lines extra). */
struct lane_gen {
	int64_t lane;
	int g;
	uint64_t seq, req;
	int64_t ts;
	int step;             /* position in the request */
	int64_t t_req, t_sub; /* begin times of the open spans */
	uint32_t rnd;
};

static uint32_t rnd(struct lane_gen *l)
{
	l->rnd = l->rnd * 1103515245u + 12345u;
	return l->rnd >> 8;
}

static void val_u(ut_event_t *e, int i, uint8_t type, uint64_t v)
{
	e->vals[i].type = type;
	e->vals[i].len = 0;
	e->vals[i].v.u = v;
	if (i + 1 > e->nvals)
		e->nvals = (uint8_t)(i + 1);
}

static void val_s(ut_event_t *e, int i, const char *s)
{
	e->vals[i].type = UT_T_STR;
	e->vals[i].len = (uint16_t)strlen(s);
	e->vals[i].v.p = (const uint8_t *)s;
	if (i + 1 > e->nvals)
		e->nvals = (uint8_t)(i + 1);
}

/* Produce the next event of lane (l) into (e). */
static void next_event(struct lane_gen *l, ut_event_t *e)
{
	static const char *const paths[] = { "/", "/api/v1/users",
					     "/metrics", "/health" };
	static const char *const handlers[] = { "static", "users", "metrics",
						"health" };
	static char msg[64];
	int k;

	memset(e, 0, sizeof(*e));
	e->dur = -1;
	/* ~80 us between requests, 100-900 ns between events inside one */
	l->ts += l->step == 0 ? 40000 + rnd(l) % 80000 : 100 + rnd(l) % 800;
	switch (l->step) {
	case 0: k = T_NET_RX; val_u(e, 0, UT_T_U32, 64 + rnd(l) % 1400);
		val_u(e, 1, UT_T_U16, 80); break;
	case 1: k = T_QUEUE; val_u(e, 0, UT_T_U32, rnd(l) % 16); break;
	case 2: k = T_REQ_B; l->t_req = l->ts; l->req++;
		val_u(e, 0, UT_T_U64, l->req);
		val_s(e, 1, rnd(l) % 3 ? "GET" : "POST");
		val_s(e, 2, paths[l->req % 4]); break;
	case 3: k = T_PARSE_B; l->t_sub = l->ts;
		val_u(e, 0, UT_T_U64, l->req);
		val_u(e, 1, UT_T_U32, 40 + rnd(l) % 400); break;
	case 4: k = T_PARSE_E; e->dur = l->ts - l->t_sub; break;
	case 5: k = T_HANDLE_B; l->t_sub = l->ts;
		val_u(e, 0, UT_T_U64, l->req);
		val_s(e, 1, handlers[l->req % 4]); break;
	case 6: k = T_HANDLE_E; l->ts += rnd(l) % 4000;
		e->dur = l->ts - l->t_sub; break;
	case 7: k = T_RESP_B; l->t_sub = l->ts;
		val_u(e, 0, UT_T_U64, l->req);
		val_u(e, 1, UT_T_U16, 200);
		val_u(e, 2, UT_T_U32, rnd(l) % 60000); break;
	case 8: k = T_RESP_E; e->dur = l->ts - l->t_sub; break;
	case 9: k = T_REQ_E; e->dur = l->ts - l->t_req; break;
	default:
		k = T_LOG;
		snprintf(msg, sizeof(msg), "vcpu%d: %" PRIu64 " requests served",
			 (int)(l->lane % NVCPUS), l->req);
		val_u(e, 0, UT_T_U8, 2);
		val_s(e, 1, msg);
		break;
	}
	e->type = &types[l->g][k];
	e->seq = l->seq++;
	e->ts = l->ts;
	e->ts_raw = (uint64_t)l->ts;
	/* a log line every 64 requests */
	if (++l->step == 10 && l->req % 64)
		l->step = 0;
	else if (l->step == 11)
		l->step = 0;
}

static void generate(const char *path, long n)
{
	char err[512];
	struct lane_gen lanes[NLANES];
	ut_event_t ev;
	double t0 = now_s();

	unlink(path);
	ut_store_t *st = ut_store_open(path, UT_STORE_CREATE, err, sizeof(err));
	if (!st)
		die("open", err);
	if (ut_store_begin(st))
		die("begin", ut_store_errmsg(st));
	for (int g = 0; g < NGUESTS; g++) {
		ut_guest_info_t gi;
		memset(&gi, 0, sizeof(gi));
		snprintf(gi.name, sizeof(gi.name), "bench-guest-%d", g);
		snprintf(gi.platform, sizeof(gi.platform), "hosted");
		gi.pid = (uint32_t)(1000 + g);
		gi.nr_rings = NVCPUS;
		gi.abi_version = 1;
		int64_t gid = ut_store_guest(st, &gi);
		if (gid < 0)
			die("guest", ut_store_errmsg(st));
		for (int t = 0; t < NT; t++)
			if (ut_store_evtype(st, gid, &types[g][t]))
				die("evtype", ut_store_errmsg(st));
		for (int v = 0; v < NVCPUS; v++) {
			struct lane_gen *l = &lanes[g * NVCPUS + v];
			memset(l, 0, sizeof(*l));
			l->g = g;
			l->lane = ut_store_lane(st, gid, (uint32_t)v);
			if (l->lane < 0)
				die("lane", ut_store_errmsg(st));
			l->ts = 1000000000LL + v * 7919;
			l->rnd = (uint32_t)(g * 31 + v + 1);
		}
	}
	long done = 0, since = 0;
	while (done < n) {
		for (int i = 0; i < NLANES && done < n; i++) {
			for (int c = 0; c < chunk && done < n; c++, done++) {
				next_event(&lanes[i], &ev);
				if (ut_store_event(st, lanes[i].lane, &ev))
					die("event", ut_store_errmsg(st));
			}
			since += chunk;
		}
		if (since >= PER_COMMIT) {
			if (ut_store_commit(st) || ut_store_begin(st))
				die("commit", ut_store_errmsg(st));
			since = 0;
		}
	}
	if (ut_store_commit(st))
		die("commit", ut_store_errmsg(st));
	ut_store_close(st);
	printf("generated %s: %ld events in %.1f s\n", path, n, now_s() - t0);
}

/* Events in (path) if it is a trace we can reuse, else -1. */
static long count_events(const char *path)
{
	char err[512];
	struct stat sb;
	sqlite3_stmt *s;
	long n = -1;

	if (stat(path, &sb))
		return -1;
	ut_store_t *st = ut_store_open(path, UT_STORE_READONLY, err,
				       sizeof(err));
	if (!st)
		return -1;
	if (sqlite3_prepare_v2(ut_store_db(st),
			       "SELECT sum(event_count) FROM lanes", -1, &s,
			       NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			n = (long)sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	ut_store_close(st);
	return n;
}

struct result {
	double first_ms, rss_mib;
	char out[4096];
};

static int run_view(const char *unitrace, const char *db, struct result *r)
{
	int pfd[2];
	if (pipe(pfd))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(unitrace, unitrace, "view", "--bench", "--size", "50x200",
		      db, (char *)NULL);
		fprintf(stderr, "bench_viewer: exec %s: %s\n", unitrace,
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	size_t o = 0;
	ssize_t k;
	while ((k = read(pfd[0], r->out + o, sizeof(r->out) - 1 - o)) > 0)
		o += (size_t)k;
	r->out[o] = 0;
	close(pfd[0]);
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	r->rss_mib = (double)ru.ru_maxrss / 1024;
	const char *s = strstr(r->out, "first_ms=");
	r->first_ms = s ? atof(s + 9) : -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long big = 10000000, small = 100000;
	const char *keep = NULL, *unitrace = getenv("UNITRACE");
	char dir[1024], self[1024], ut[1100];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			big = atol(argv[++i]);
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			small = atol(argv[++i]);
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			chunk = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 2048;
		else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
			keep = argv[++i];
		else if (!strcmp(argv[i], "--unitrace") && i + 1 < argc)
			unitrace = argv[++i];
		else {
			fprintf(stderr, "usage: bench_viewer [-n EVENTS] [-s "
					"EVENTS] [-c CHUNK] [--keep DIR] "
					"[--unitrace PATH]\n");
			return 2;
		}
	}
	if (!unitrace) {
		/* $B/bench/bench_viewer -> $B/unitrace */
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[k > 0 ? k : 0] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		snprintf(ut, sizeof(ut), "%s/../unitrace", self);
		unitrace = ut;
	}
	if (access(unitrace, X_OK)) {
		printf("(skipped: %s not found; set UNITRACE or --unitrace)\n",
		       unitrace);
		return 0;
	}
	if (keep) {
		snprintf(dir, sizeof(dir), "%s", keep);
		mkdir(dir, 0755);
	} else {
		snprintf(dir, sizeof(dir), "/tmp/ut-bench-viewer.XXXXXX");
		if (!mkdtemp(dir))
			die("mkdtemp", strerror(errno));
	}
	make_types();
	long sizes[2] = { small, big };
	struct result res[2];
	char path[2][1100];
	for (int i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/view-%ld-c%d.db", dir,
			 sizes[i], chunk);
		if (!keep || count_events(path[i]) != sizes[i])
			generate(path[i], sizes[i]);
		else
			printf("reusing %s\n", path[i]);
	}
	printf("\n");
	for (int i = 0; i < 2; i++) {
		/* a cold page cache is not what we measure: warm the file */
		char cmd[2400];
		snprintf(cmd, sizeof(cmd), "cat '%s' > /dev/null", path[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_viewer: could not read %s\n",
				path[i]);
		if (run_view(unitrace, path[i], &res[i]))
			printf("(unitrace view --bench failed on %s)\n",
			       path[i]);
		fputs(res[i].out, stdout);
		printf("  peak RSS (wait4): %.1f MiB\n\n", res[i].rss_mib);
	}
	printf("ratios %ld / %ld events (%.0fx): first screen %.2fx, peak RSS "
	       "%.2fx\n",
	       big, small, (double)big / (double)small,
	       res[1].first_ms / res[0].first_ms,
	       res[1].rss_mib / res[0].rss_mib);
	printf("targets (10 M events): first screen < 300 ms, redraw < 50 ms, "
	       "RSS < 100 MiB, flat from 100 k\n");
	if (!keep) {
		for (int i = 0; i < 2; i++) {
			char p[2400];
			unlink(path[i]);
			snprintf(p, sizeof(p), "%s-wal", path[i]);
			unlink(p);
			snprintf(p, sizeof(p), "%s-shm", path[i]);
			unlink(p);
		}
		rmdir(dir);
	}
	return 0;
}
