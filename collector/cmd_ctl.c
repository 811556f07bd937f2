/*
 * unitrace ctl: control a running guest.
 *
 *   unitrace ctl [--dir DIR]                    list the guests
 *   unitrace ctl [--dir DIR] GUEST [show]       its event types and rings
 *   unitrace ctl [--dir DIR] GUEST enable|disable EVENT... | all
 *   unitrace ctl [--dir DIR] GUEST mode discard|overwrite [--ring N]
 *
 * Control goes through the guest's shared area, so it works beside a
 * running collector and on any transport that shares the area: the
 * control bitmap (bit id-1 set = disabled) and each ring's req_mode are
 * collector-written fields; ctl_gen is bumped and the guest's control
 * thread woken (a futex on that word); the guest acknowledges in ctl_ack
 * and reflects a mode change in the ring's 'mode'.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "xen.h"

static const char ctl_usage[] =
	"usage: unitrace ctl [--dir DIR]\n"
	"       unitrace ctl --xen DOMAIN [show|enable|disable|mode ...]\n"
	"       unitrace ctl [--dir DIR] GUEST [show]\n"
	"       unitrace ctl [--dir DIR] GUEST enable|disable EVENT... | all\n"
	"       unitrace ctl [--dir DIR] GUEST mode discard|overwrite [--ring N]\n"
	"\n"
	"Control a running guest through its shared area: list the\n"
	"guests of the rendezvous directory, show a guest's event types and\n"
	"rings, enable or disable event types by name, or switch rings between\n"
	"discard and overwrite mode.  Works while a collector is attached.\n"
	"GUEST is a rendezvous entry (NAME.PID.ut), NAME.PID, a unique NAME, or\n"
	"a PID.\n"
	"\n"
	"  -d, --dir DIR     rendezvous directory (default as for collect)\n"
	"  -x, --xen         GUEST is a Xen domain (name or domid) publishing\n"
	"                    in xenstore; run in dom0\n"
	"  -r, --ring N      mode: only ring N (default: every ring)\n"
	"  -t, --timeout MS  how long to wait for the guest to confirm (1000)\n"
	"  -h, --help        this text\n"
	"\n"
	"Exit status: 0 done (and confirmed), 1 failed or not confirmed,\n"
	"2 usage error.\n";

/* Find the entry for (want) in (dir); 0 with the path, or -1 (message
 * printed). */
static int find_guest(const char *dir, const char *want, char *path,
		      size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char found[NAME_MAX + 1] = "";
	int matches = 0;

	if (!d) {
		ut_error("ctl", "cannot read the rendezvous directory %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char base[NAME_MAX + 1], *dot;
		size_t l = strlen(de->d_name);

		if (l < 4 || de->d_name[0] == '.' || strcmp(de->d_name + l - 3, ".ut"))
			continue;
		/* NAME.PID.ut: match the entry, NAME.PID, NAME or PID */
		snprintf(base, sizeof(base), "%.*s", (int)(l - 3), de->d_name);
		dot = strrchr(base, '.');
		bool hit = !strcmp(de->d_name, want) || !strcmp(base, want);
		if (dot) {
			hit = hit || !strcmp(dot + 1, want);
			*dot = 0;
			hit = hit || !strcmp(base, want);
		}
		if (hit) {
			matches++;
			snprintf(found, sizeof(found), "%s", de->d_name);
		}
	}
	closedir(d);
	if (matches == 0) {
		ut_error("ctl", "no guest '%s' in %s; 'unitrace ctl --dir %s' lists "
			 "them", want, dir, dir);
		return -1;
	}
	if (matches > 1) {
		ut_error("ctl", "'%s' matches %d guests; name one as NAME.PID", want,
			 matches);
		return -1;
	}
	snprintf(path, cap, "%s/%s", dir, found);
	return 0;
}

static int list_guests(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d) {
		ut_error("ctl", "cannot read the rendezvous directory %s: %s", dir,
			 strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l > 3 && de->d_name[0] != '.' &&
		    !strcmp(de->d_name + l - 3, ".ut")) {
			printf("%.*s\n", (int)(l - 3), de->d_name);
			n++;
		}
	}
	closedir(d);
	if (!n)
		fprintf(stderr, "unitrace ctl: no guests in %s\n", dir);
	return 0;
}

static const char *mode_name(uint32_t m)
{
	return m == UT_MODE_DISCARD ? "discard"
	       : m == UT_MODE_OVERWRITE ? "overwrite" : "?";
}

static const char *kind_name(uint8_t k)
{
	static const char *const n[] = {"instant", "span_begin", "span_end",
					"counter", "log"};
	return k < UT_KIND__COUNT ? n[k] : "?";
}

static bool bit(const uint8_t *bits, uint32_t i)
{
	return (ut_load_once(&bits[i / 8]) >> (i % 8)) & 1;
}

static void wake(struct ut_area_hdr *h)
{
	__atomic_add_fetch(&h->ctl_gen, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &h->ctl_gen, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Map the area of the Xen domain named or numbered (want) into t->map and
 * t->size.  0, or -1 (message printed). */
static int xen_find(const char *want, ut_xen_t **xp, ut_xen_dom_t **dp,
		    ut_hosted_t *t, char *label, size_t labellen)
{
	const ut_xen_opts_t xo = {.cmd = "ctl", .quiet = true};
	uint32_t doms[512];
	char err[512];
	int n;

	*xp = ut_xen_open(&xo, err, sizeof(err));
	if (!*xp) {
		ut_error("ctl", "%s", err);
		return -1;
	}
	n = ut_xen_scan(*xp, doms, 512);
	for (int i = 0; i < n; i++) {
		ut_xen_dom_t *d;
		char id[16];
		snprintf(id, sizeof(id), "%u", doms[i]);
		if (ut_xen_dom_open(*xp, doms[i], &d, label, labellen, err,
				    sizeof(err)) != 0)
			continue;
		/* label is "NAME (domain N)" or "domain N" */
		size_t wl = strlen(want);
		if (!strcmp(id, want) || (!strncmp(label, want, wl) &&
					  !strncmp(label + wl, " (domain ", 9))) {
			*dp = d;
			t->map = ut_xen_dom_area(d, &t->size);
			return 0;
		}
		ut_xen_dom_close(*xp, d);
	}
	ut_error("ctl", "no Xen domain '%s' publishing a unitrace area", want);
	ut_xen_close(*xp);
	*xp = NULL;
	return -1;
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
	char dir[PATH_MAX - NAME_MAX - 2], path[PATH_MAX], err[512];
	long ring = -1, timeout = 1000;
	const char *dir_opt = NULL;
	ut_hosted_t t = {.fd = -1};
	ut_xen_t *xen = NULL;
	ut_xen_dom_t *xd = NULL;
	bool use_xen = false;
	ut_reader_t *rd;
	int c, rc = 0;

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
			if (*end || timeout < 0 || timeout > 600000) {
				ut_error("ctl", "--timeout wants milliseconds, got '%s'",
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
	if (dir_opt)
		snprintf(dir, sizeof(dir), "%s", dir_opt);
	else
		ut_hosted_default_dir(dir, sizeof(dir));
	if (use_xen) {
		if (optind >= argc) {
			ut_error("ctl", "--xen needs a GUEST (domain name or id)");
			return 2;
		}
	} else {
		if (optind >= argc)
			return list_guests(dir);
		if (find_guest(dir, argv[optind], path, sizeof(path)))
			return 1;
	}
	const char *action = optind + 1 < argc ? argv[optind + 1] : "show";
	if (strcmp(action, "show") && strcmp(action, "enable") &&
	    strcmp(action, "disable") && strcmp(action, "mode")) {
		ut_error("ctl", "unknown action '%s': show, enable, disable or mode",
			 action);
		return 2;
	}
	if (use_xen) {
		if (xen_find(argv[optind], &xen, &xd, &t, path, sizeof(path)))
			return 1;
	} else if (ut_hosted_open(path, &t, err, sizeof(err))) {
		ut_error("ctl", "%s", err);
		return 1;
	}
	rd = calloc(1, sizeof(*rd));
	if (!rd || ut_reader_attach(rd, t.map, t.size) != 0 ||
	    ut_reader_schema(rd) != 0) {
		ut_error("ctl", "%s: %s", path, rd ? rd->err : "out of memory");
		rc = 1;
		goto out;
	}
	struct ut_area_hdr *h = t.map;
	uint8_t *bits = (uint8_t *)t.map + rd->hdr.ctl_off;

	if (!strcmp(action, "show")) {
		printf("guest %s (%s pid %u), state %s\n", path, rd->hdr.platform,
		       rd->hdr.pid, ut_load_acquire(&h->state) == UT_STATE_RUNNING
		       ? "running" : "not running");
		printf("rings:\n");
		for (uint32_t i = 0; i < rd->nr_rings; i++)
			printf("  ring %-2u vcpu %-2u %-9s %7llu KiB\n", i,
			       rd->rings[i].vcpu,
			       mode_name(ut_load_acquire(&rd->rings[i].rh->mode)),
			       (unsigned long long)rd->rings[i].data_size / 1024);
		printf("event types:\n");
		for (uint32_t i = 0; i < rd->ntypes; i++)
			printf("  %-4u %-24s %-10s %s\n", rd->types[i].id,
			       rd->types[i].name, kind_name(rd->types[i].kind),
			       bit(bits, i) ? "disabled" : "enabled");
		goto out;
	}
	if (!strcmp(action, "mode")) {
		uint32_t m;
		if (optind + 2 >= argc || optind + 3 < argc) {
			ut_error("ctl", "usage: unitrace ctl GUEST mode "
				 "discard|overwrite [--ring N]");
			rc = 2;
			goto out;
		}
		if (!strcmp(argv[optind + 2], "discard"))
			m = UT_MODE_DISCARD;
		else if (!strcmp(argv[optind + 2], "overwrite"))
			m = UT_MODE_OVERWRITE;
		else {
			ut_error("ctl", "mode is discard or overwrite, not '%s'",
				 argv[optind + 2]);
			rc = 2;
			goto out;
		}
		if (ring >= (long)rd->nr_rings) {
			ut_error("ctl", "the guest has %u rings", rd->nr_rings);
			rc = 2;
			goto out;
		}
		for (uint32_t i = 0; i < rd->nr_rings; i++)
			if (ring < 0 || (uint32_t)ring == i)
				ut_store_release(&rd->rings[i].rh->req_mode, m);
		wake(h);
		/* A ring switches at one of its next events; report each. */
		for (long w = 0; w <= timeout; w += 10) {
			bool all = true;
			for (uint32_t i = 0; i < rd->nr_rings; i++)
				if ((ring < 0 || (uint32_t)ring == i) &&
				    ut_load_acquire(&rd->rings[i].rh->mode) != m)
					all = false;
			if (all)
				break;
			nap_ms(10);
		}
		for (uint32_t i = 0; i < rd->nr_rings; i++) {
			if (ring >= 0 && (uint32_t)ring != i)
				continue;
			if (ut_load_acquire(&rd->rings[i].rh->mode) == m) {
				ut_store_release(&rd->rings[i].rh->req_mode,
						 UT_REQ_NONE);
				printf("ring %u: %s\n", i, mode_name(m));
			} else {
				printf("ring %u: %s requested (it switches at one of "
				       "its next events)\n", i, mode_name(m));
			}
		}
		goto out;
	}
	/* enable / disable */
	if (optind + 2 >= argc) {
		ut_error("ctl", "name the event types to %s (or 'all')", action);
		rc = 2;
		goto out;
	}
	bool disable = !strcmp(action, "disable");
	for (int a = optind + 2; a < argc; a++) {
		bool any = false;
		for (uint32_t i = 0; i < rd->ntypes; i++) {
			if (strcmp(argv[a], "all") && strcmp(argv[a], rd->types[i].name))
				continue;
			uint8_t mask = (uint8_t)(1u << (i % 8));
			if (disable)
				__atomic_fetch_or(&bits[i / 8], mask, __ATOMIC_RELAXED);
			else
				__atomic_fetch_and(&bits[i / 8], (uint8_t)~mask,
						   __ATOMIC_RELAXED);
			any = true;
		}
		if (!any) {
			ut_error("ctl", "the guest has no event type '%s'", argv[a]);
			rc = 1;
		}
	}
	wake(h);
	uint32_t gen = ut_load_acquire(&h->ctl_gen);
	long w = 0;
	for (; w <= timeout; w += 10) {
		if ((int32_t)(ut_load_acquire(&h->ctl_ack) - gen) >= 0)
			break;
		nap_ms(10);
	}
	if (w > timeout) {
		ut_error("ctl", "the guest did not confirm within %ld ms (is it "
			 "running with UNITRACE_CTL=0?)", timeout);
		rc = 1;
	} else if (rc == 0) {
		printf("%sd\n", action);
	}
out:
	if (rd) {
		ut_reader_free(rd);
		free(rd);
	}
	if (use_xen) {
		ut_xen_dom_close(xen, xd);
		ut_xen_close(xen);
	} else {
		ut_hosted_close(&t);
	}
	return rc;
}

const struct ut_cmd ut_cmd_ctl = {
	.name = "ctl",
	.summary = "control a running guest: event types on/off, ring modes",
	.usage = ctl_usage,
	.run = ctl_run,
};
