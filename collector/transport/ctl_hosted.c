/*
 * `unitrace ctl` without --xen: the client end of a hosted guest's control
 * channel, the abstract Unix socket "\0unitrace-ctl.PID" (the guest side
 * is tracer-guest/port_hosted.c), found through the guest's rendezvous
 * entry NAME.PID.ut.  The Xen channel is xen_ctl.c; both are ctl_chan.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h" /* ut_now_ms */
#include "ctl_chan.h"
#include "ut_ctl.h"

/* Find the entry for (want) in (dir); 0 with the path, or -1 with a
 * message in (err). */
static int find_guest(const char *dir, const char *want, char *path,
		      size_t cap, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char found[NAME_MAX + 1] = "";
	int matches = 0;

	if (!d) {
		snprintf(err, errlen, "cannot read the rendezvous directory %s: %s",
			 dir, strerror(errno));
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
		snprintf(err, errlen, "no guest '%s' in %s; 'unitrace ctl --dir %s' "
			 "lists them", want, dir, dir);
		return -1;
	}
	if (matches > 1) {
		snprintf(err, errlen, "'%s' matches %d guests; name one as "
			 "NAME.PID", want, matches);
		return -1;
	}
	snprintf(path, cap, "%s/%s", dir, found);
	return 0;
}

int ut_hosted_ctl_list(const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d) {
		snprintf(err, errlen, "cannot read the rendezvous directory %s: %s",
			 dir, strerror(errno));
		return -1;
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
	return n;
}

/* ---- the hosted channel: a Unix stream socket ---------------------------- */

typedef struct {
	ut_ctl_chan_t c;
	int fd;
} sock_chan_t;

static int sock_io(ut_ctl_chan_t *c, void *buf, size_t n, int64_t deadline,
		   bool out)
{
	sock_chan_t *s = (sock_chan_t *)c;
	char *p = buf;

	while (n) {
		struct pollfd pf = {.fd = s->fd, .events = out ? POLLOUT : POLLIN};
		int64_t left = deadline - ut_now_ms();
		if (left <= 0) {
			snprintf(c->err, sizeof(c->err), "%s did not answer in time",
				 c->label);
			return -1;
		}
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		ssize_t r = out ? send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)
				: recv(s->fd, p, n, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			snprintf(c->err, sizeof(c->err), "%s closed its control "
				 "channel%s%s", c->label, r ? ": " : "",
				 r ? strerror(errno) : "");
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int sock_send(ut_ctl_chan_t *c, const void *buf, size_t n, int64_t dl)
{
	return sock_io(c, (void *)buf, n, dl, true);
}

static int sock_recv(ut_ctl_chan_t *c, void *buf, size_t n, int64_t dl)
{
	return sock_io(c, buf, n, dl, false);
}

static void sock_close(ut_ctl_chan_t *c)
{
	close(((sock_chan_t *)c)->fd);
	free(c);
}

/* Connect to the control socket of the hosted guest behind rendezvous
 * entry (path), NAME.PID.ut. */
static ut_ctl_chan_t *sock_open(const char *path, char *err, size_t errlen)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char name[NAME_MAX + 1];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	sock_chan_t *s;
	char *dot, *end;
	long pid;
	int n;

	size_t bl = strlen(base);
	if (bl < 4 || bl - 3 >= sizeof(name)) {
		snprintf(err, errlen, "%s: not a NAME.PID.ut rendezvous entry",
			 path);
		return NULL;
	}
	memcpy(name, base, bl - 3); /* without ".ut" */
	name[bl - 3] = 0;
	dot = strrchr(name, '.');
	pid = dot ? strtol(dot + 1, &end, 10) : 0;
	if (!dot || *end || pid <= 0) {
		snprintf(err, errlen, "%s: not a NAME.PID.ut rendezvous entry",
			 path);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s%ld",
		     UT_CTL_SOCK_PREFIX, pid);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 ||
	    connect(s->fd, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				(size_t)n)) != 0) {
		snprintf(err, errlen, "cannot reach the control channel of %s "
			 "(pid %ld): %s; is it running, and not with "
			 "UNITRACE_CTL=0?", name, pid, strerror(errno));
		goto fail;
	}
	/* Anyone can bind an abstract name: make sure the guest's own
	 * process answers. */
	if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
	    cr.pid != (pid_t)pid) {
		snprintf(err, errlen, "the control socket of %s is held by pid "
			 "%ld, not by the guest (pid %ld); refusing to talk to it",
			 name, (long)cr.pid, pid);
		goto fail;
	}
	s->c.send = sock_send;
	s->c.recv = sock_recv;
	s->c.close = sock_close;
	snprintf(s->c.label, sizeof(s->c.label), "%.100s", name);
	return &s->c;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return NULL;
}

ut_ctl_chan_t *ut_hosted_ctl_open(const char *dir, const char *want,
				  char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (find_guest(dir, want, path, sizeof(path), err, errlen))
		return NULL;
	return sock_open(path, err, errlen);
}
