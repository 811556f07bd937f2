/*
 * unitrace ctl: control a running guest.
 *
 *   unitrace ctl [--dir DIR]                    list the guests
 *   unitrace ctl [--dir DIR] GUEST [show]       its event types and rings
 *   unitrace ctl [--dir DIR] GUEST enable|disable EVENT... | all
 *   unitrace ctl [--dir DIR] GUEST mode discard|overwrite [--ring N]
 *   unitrace ctl --xen [DOMAIN [...]]           the same for a Xen domain
 *
 * Requests go over the guest's control channel (formats/ut_ctl.h): the
 * abstract Unix socket "\0unitrace-ctl.PID" of a hosted guest
 * (transport/ctl_hosted.c), the libxenvchan channel of a Xen guest
 * (transport/xen_ctl.c).  The guest executes them and answers; everything
 * in an answer is checked before it is used.
 */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "ctl_chan.h"
#include "tracedb.h" /* ut_kind_name */
#include "transport.h" /* ut_hosted_default_dir */
#include "ut_ctl.h"

static const char ctl_usage[] =
	"usage: unitrace ctl [--dir DIR]\n"
	"       unitrace ctl [--dir DIR] GUEST [show]\n"
	"       unitrace ctl [--dir DIR] GUEST enable|disable EVENT... | all\n"
	"       unitrace ctl [--dir DIR] GUEST mode discard|overwrite [--ring N]\n"
	"       unitrace ctl --xen [DOMAIN [show|enable|disable|mode ...]]\n"
	"\n"
	"Control a running guest over its control channel: list the guests,\n"
	"show a guest's event types and rings, enable or disable event types\n"
	"by name, or switch rings between discard and overwrite mode.  Works\n"
	"while a collector is attached.  A hosted GUEST is a rendezvous entry\n"
	"(NAME.PID.ut), NAME.PID, a unique NAME, or a PID; with --xen, a\n"
	"domain name or id (run in dom0).\n"
	"\n"
	"  -d, --dir DIR     rendezvous directory (default as for collect)\n"
	"  -x, --xen         GUEST is a Xen domain, reached over libxenvchan\n"
	"  -r, --ring N      mode: only ring N (default: every ring)\n"
	"  -t, --timeout MS  how long to wait for the guest (default 2000)\n"
	"  -h, --help        this text\n"
	"\n"
	"Exit status: 0 done (and confirmed), 1 failed or not confirmed,\n"
	"2 usage error.\n";

/* ---- requests ------------------------------------------------------------- */

typedef struct {
	ut_ctl_chan_t *chan;
	int64_t deadline;
	uint32_t seq;
	struct ut_ctl_msg rsp;   /* header of the last response */
	uint8_t data[UT_CTL_MAX_RSP]; /* its payload */
} ctl_t;

static const char *status_text(uint16_t st)
{
	switch (st) {
	case UT_CTL_OK: return "ok";
	case UT_CTL_EBADMSG: return "the guest rejected the request as malformed";
	case UT_CTL_EOP: return "the guest does not know this request (older "
				"tracer?)";
	case UT_CTL_ENOENT: return "no such event type or ring";
	case UT_CTL_EINVAL: return "invalid argument";
	case UT_CTL_ENOTREADY: return "the guest's tracer is not running";
	case UT_CTL_EPERM: return "the guest refuses control from this user "
				  "(only its own user and root may)";
	default: return "unknown status";
	}
}

/* Send (op, arg, payload) and read its response into k->rsp and k->data.
 * Returns the response status (UT_CTL_OK...), or -1 if the channel failed
 * or the guest answered nonsense (message printed). */
static int call(ctl_t *k, uint16_t op, uint32_t arg, const void *pl,
		uint32_t len)
{
	uint8_t buf[UT_CTL_HDR_SIZE + UT_CTL_MAX_REQ];
	struct ut_ctl_msg q = {.magic = UT_CTL_MAGIC, .op = op, .seq = ++k->seq,
			       .arg = arg, .len = len};
	ut_ctl_chan_t *c = k->chan;

	if (len > UT_CTL_MAX_REQ)
		return -1;
	memcpy(buf, &q, sizeof(q));
	if (len)
		memcpy(buf + sizeof(q), pl, len);
	if (c->send(c, buf, sizeof(q) + len, k->deadline)) {
		ut_error("ctl", "%s", c->err);
		return -1;
	}
	for (;;) {
		if (c->recv(c, &k->rsp, sizeof(k->rsp), k->deadline)) {
			ut_error("ctl", "%s", c->err);
			return -1;
		}
		if (k->rsp.magic != UT_CTL_MAGIC || k->rsp.len > UT_CTL_MAX_RSP) {
			ut_error("ctl", "%s sent a malformed answer (magic 0x%08x, "
				 "%u bytes); giving up", c->label, k->rsp.magic,
				 k->rsp.len);
			return -1;
		}
		if (k->rsp.status == UT_CTL_EPERM && k->rsp.seq == 0) {
			ut_error("ctl", "%s: %s", c->label,
				 status_text(UT_CTL_EPERM));
			return -1;
		}
		if (k->rsp.len && c->recv(c, k->data, k->rsp.len, k->deadline)) {
			ut_error("ctl", "%s", c->err);
			return -1;
		}
		/* an answer left over from an earlier client: skip it */
		if (k->rsp.seq == q.seq && k->rsp.op == op)
			return k->rsp.status;
	}
}

static const char *mode_name(uint32_t m)
{
	return m == UT_MODE_DISCARD ? "discard"
	       : m == UT_MODE_OVERWRITE ? "overwrite" : "?";
}

static const char *kind_name(uint8_t k)
{
	const char *n = ut_kind_name(k);
	return n ? n : "?";
}

/* A NUL-padded name from the guest, made printable. */
static void clean_name(char *dst, const char *src, size_t cap)
{
	size_t i = 0;

	for (; i + 1 < cap && src[i]; i++)
		dst[i] = (src[i] > ' ' && src[i] < 127) ? src[i] : '?';
	dst[i] = 0;
}

/* Fetch the rings from (first) on; the number of entries read into
 * (out), or -1. */
static int get_rings(ctl_t *k, struct ut_ctl_ring *out, uint32_t *total)
{
	uint32_t have = 0;

	do {
		if (call(k, UT_CTL_RINGS, have, NULL, 0) != UT_CTL_OK)
			return -1;
		uint32_t got = k->rsp.len / sizeof(struct ut_ctl_ring);
		*total = k->rsp.arg;
		if (*total > UT_MAX_RINGS || (got == 0 && have < *total)) {
			ut_error("ctl", "%s: inconsistent ring list", k->chan->label);
			return -1;
		}
		for (uint32_t i = 0; i < got && have < *total; i++)
			memcpy(&out[have++], k->data + i * sizeof(*out), sizeof(*out));
	} while (have < *total);
	return (int)have;
}

static int do_show(ctl_t *k)
{
	struct ut_ctl_info info;
	struct ut_ctl_ring rings[UT_MAX_RINGS];
	uint32_t nr, total, have = 0;
	char name[sizeof(info.name) + 1];

	if (call(k, UT_CTL_HELLO, 0, NULL, 0) != UT_CTL_OK ||
	    k->rsp.len < sizeof(info)) {
		ut_error("ctl", "%s did not introduce itself", k->chan->label);
		return 1;
	}
	memcpy(&info, k->data, sizeof(info));
	clean_name(name, info.name, sizeof(name));
	printf("guest %s (pid/domid %u), tracer ABI %u\n", name, info.pid,
	       info.abi_version);
	if (get_rings(k, rings, &nr) < 0)
		return 1;
	printf("rings:\n");
	for (uint32_t i = 0; i < nr; i++)
		printf("  ring %-2u %-9s %12llu events %10llu dropped%s%s\n",
		       rings[i].ring, mode_name(rings[i].mode),
		       (unsigned long long)rings[i].emitted,
		       (unsigned long long)rings[i].dropped,
		       rings[i].req_mode <= UT_MODE_OVERWRITE ? ", switching to " : "",
		       rings[i].req_mode <= UT_MODE_OVERWRITE
			       ? mode_name(rings[i].req_mode) : "");
	printf("event types:\n");
	do {
		if (call(k, UT_CTL_EVENTS, have, NULL, 0) != UT_CTL_OK)
			return 1;
		uint32_t got = k->rsp.len / sizeof(struct ut_ctl_event);
		total = k->rsp.arg;
		if (total > 0xffff || (got == 0 && have < total)) {
			ut_error("ctl", "%s: inconsistent event list", k->chan->label);
			return 1;
		}
		for (uint32_t i = 0; i < got && have < total; i++, have++) {
			struct ut_ctl_event e;
			char en[sizeof(e.name) + 1];
			memcpy(&e, k->data + i * sizeof(e), sizeof(e));
			clean_name(en, e.name, sizeof(en));
			printf("  %-4u %-24s %-10s %s\n", e.id, en, kind_name(e.kind),
			       e.enabled ? "enabled" : "disabled");
		}
	} while (have < total);
	return 0;
}

#define IDLE_MS 300 /* a ring that records nothing this long is idle */

static int do_mode(ctl_t *k, const char *m_arg, long ring)
{
	struct ut_ctl_ring rings[UT_MAX_RINGS];
	uint32_t m, nr, arg = ring < 0 ? UT_CTL_ALL_RINGS : (uint32_t)ring;
	int st;

	if (!strcmp(m_arg, "discard"))
		m = UT_MODE_DISCARD;
	else if (!strcmp(m_arg, "overwrite"))
		m = UT_MODE_OVERWRITE;
	else {
		ut_error("ctl", "mode is discard or overwrite, not '%s'", m_arg);
		return 2;
	}
	st = call(k, UT_CTL_SET_MODE, arg, &m, sizeof(m));
	if (st != UT_CTL_OK) {
		if (st > 0)
			ut_error("ctl", "%s: %s", k->chan->label, st == UT_CTL_ENOENT
				 ? "no such ring" : status_text((uint16_t)st));
		return st == UT_CTL_ENOENT ? 2 : 1;
	}
	/* Each ring's producer switches at one of its next 256 events: watch
	 * until every ring has, or has been idle for a while (a ring nobody
	 * writes to switches when it next records; that is not a failure). */
	uint64_t e0[UT_MAX_RINGS], last[UT_MAX_RINGS];
	int64_t moved[UT_MAX_RINGS], t0 = ut_now_ms();
	if (get_rings(k, rings, &nr) < 0)
		return 1;
	for (uint32_t i = 0; i < nr; i++) {
		e0[i] = last[i] = rings[i].emitted;
		moved[i] = t0;
	}
	for (;;) {
		bool waiting = false;
		int64_t now = ut_now_ms();
		for (uint32_t i = 0; i < nr; i++) {
			if (rings[i].emitted != last[i]) {
				last[i] = rings[i].emitted;
				moved[i] = now;
			}
			if ((ring < 0 || rings[i].ring == (uint32_t)ring) &&
			    rings[i].mode != m && now - moved[i] < IDLE_MS)
				waiting = true;
		}
		if (!waiting || now + 20 >= k->deadline)
			break;
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
		uint32_t nr2;
		if (get_rings(k, rings, &nr2) < 0)
			return 1;
		if (nr2 != nr) {
			ut_error("ctl", "%s: the number of rings changed", k->chan->label);
			return 1;
		}
	}
	int rc = 0;
	for (uint32_t i = 0; i < nr; i++) {
		if (ring >= 0 && rings[i].ring != (uint32_t)ring)
			continue;
		uint64_t since = rings[i].emitted - e0[i];
		if (rings[i].mode == m) {
			printf("ring %u: %s\n", rings[i].ring, mode_name(m));
		} else if (since < 256) {
			printf("ring %u: %s requested (%s; it switches at one of its "
			       "next events)\n", rings[i].ring, mode_name(m),
			       since ? "few events meanwhile" : "idle");
		} else {
			printf("ring %u: %s requested but not applied after %llu "
			       "events\n", rings[i].ring, mode_name(m),
			       (unsigned long long)since);
			rc = 1;
		}
	}
	return rc;
}

static int do_enable(ctl_t *k, bool on, char **names, int n)
{
	int rc = 0;

	for (int a = 0; a < n; a++) {
		bool all = !strcmp(names[a], "all");
		size_t len = all ? 0 : strlen(names[a]);
		int st;

		if (!all && (len == 0 || len >= UT_EVENT_NAME_LEN)) {
			ut_error("ctl", "'%s' cannot be an event type name",
				 names[a]);
			rc = 1;
			continue;
		}
		st = call(k, UT_CTL_ENABLE, on, names[a], (uint32_t)len);
		if (st < 0)
			return 1;
		if (st == UT_CTL_ENOENT) {
			ut_error("ctl", "%s has no event type '%s'", k->chan->label,
				 names[a]);
			rc = 1;
		} else if (st != UT_CTL_OK) {
			ut_error("ctl", "%s: %s", k->chan->label,
				 status_text((uint16_t)st));
			rc = 1;
		} else {
			printf("%s %s: %u event type%s\n", on ? "enabled" : "disabled",
			       names[a], k->rsp.arg, k->rsp.arg == 1 ? "" : "s");
		}
	}
	return rc;
}

static int ctl_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{"dir", required_argument, NULL, 'd'},
		{"ring", required_argument, NULL, 'r'},
		{"timeout", required_argument, NULL, 't'},
		{"xen", no_argument, NULL, 'x'},
		{NULL, 0, NULL, 0},
	};
	char dir[PATH_MAX - NAME_MAX - 2], err[3 * PATH_MAX];
	long ring = -1, timeout = 2000;
	const char *dir_opt = NULL;
	bool use_xen = false;
	ut_ctl_chan_t *chan;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:r:t:x", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'd': dir_opt = optarg; break;
		case 'x': use_xen = true; break;
		case 'r':
			ring = strtol(optarg, &end, 10);
			if (*end || ring < 0 || ring >= (long)UT_MAX_RINGS) {
				ut_error("ctl", "--ring wants 0..%u, got '%s'",
					 UT_MAX_RINGS - 1, optarg);
				return 2;
			}
			break;
		case 't':
			timeout = strtol(optarg, &end, 10);
			if (*end || timeout < 1 || timeout > 600000) {
				ut_error("ctl", "--timeout wants 1..600000 ms, got '%s'",
					 optarg);
				return 2;
			}
			break;
		default:
			ut_error("ctl", "unknown or incomplete option '%s'; see "
				 "'unitrace ctl --help'", argv[optind - 1]);
			return 2;
		}
	}
	/* getopt permutes: options may also follow the action (mode
	 * overwrite --ring 1); the operands are left at the end */
	char **args = argv + optind;
	int nargs = argc - optind;
	if (dir_opt)
		snprintf(dir, sizeof(dir), "%s", dir_opt);
	else
		ut_hosted_default_dir(dir, sizeof(dir));
	if (nargs == 0) {
		int n = use_xen ? ut_xen_ctl_list(err, sizeof(err))
				: ut_hosted_ctl_list(dir, err, sizeof(err));
		if (n < 0) {
			ut_error("ctl", "%s", err);
			return 1;
		}
		if (n == 0 && use_xen)
			fprintf(stderr, "unitrace ctl: no Xen domain offers a unitrace "
				"control channel\n");
		else if (n == 0)
			fprintf(stderr, "unitrace ctl: no guests in %s\n", dir);
		return 0;
	}
	const char *action = nargs > 1 ? args[1] : "show";
	if (strcmp(action, "show") && strcmp(action, "enable") &&
	    strcmp(action, "disable") && strcmp(action, "mode")) {
		ut_error("ctl", "unknown action '%s': show, enable, disable or mode",
			 action);
		return 2;
	}
	if (!strcmp(action, "show") && nargs > 2) {
		ut_error("ctl", "show takes no arguments");
		return 2;
	}
	if (!strcmp(action, "mode") && nargs != 3) {
		ut_error("ctl", "usage: unitrace ctl GUEST mode discard|overwrite "
			 "[--ring N]");
		return 2;
	}
	if ((!strcmp(action, "enable") || !strcmp(action, "disable")) && nargs < 3) {
		ut_error("ctl", "name the event types to %s (or 'all')", action);
		return 2;
	}
	chan = use_xen ? ut_xen_ctl_open(args[0], err, sizeof(err))
		       : ut_hosted_ctl_open(dir, args[0], err, sizeof(err));
	if (!chan) {
		ut_error("ctl", "%s", err);
		return 1;
	}
	rc = ut_ctl_act(chan, ut_now_ms() + timeout, action, args + 2,
			nargs - 2, ring);
	chan->close(chan);
	return rc;
}

int ut_ctl_act(ut_ctl_chan_t *chan, int64_t deadline, const char *action,
	       char **args, int nargs, long ring)
{
	ctl_t *k = calloc(1, sizeof(*k));
	int rc;

	if (!k) {
		ut_error("ctl", "out of memory");
		return 1;
	}
	k->chan = chan;
	k->deadline = deadline;
	k->seq = (uint32_t)(getpid() * 2654435761u) ^ (uint32_t)ut_now_ms();
	if (!strcmp(action, "show"))
		rc = do_show(k);
	else if (!strcmp(action, "mode"))
		rc = do_mode(k, args[0], ring);
	else
		rc = do_enable(k, !strcmp(action, "enable"), args, nargs);
	free(k);
	return rc;
}

const struct ut_cmd ut_cmd_ctl = {
	.name = "ctl",
	.summary = "control a running guest: event types on/off, ring modes",
	.usage = ctl_usage,
	.run = ctl_run,
};
