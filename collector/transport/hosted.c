/*
 * The hosted transport, collector side.
 *
 * A guest publishes a symlink NAME.PID.ut -> /proc/PID/fd/N in the
 * rendezvous directory.  Opening it gives us our own descriptor on the
 * guest's memfd; the memory then stays valid after the guest dies, so its
 * final ring contents can still be drained.  The memfd must carry
 * F_SEAL_SHRINK: otherwise the guest could truncate it under our mapping and
 * kill the collector with SIGBUS.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "crash.h"
#include "transport.h"
#include "ut_hosted_dir.h"

void ut_hosted_default_dir(char *buf, size_t cap)
{
	ut_hosted_rendezvous_dir(buf, cap);
}

/* Descriptors kept free for the store and the directory scan: a guest
 * whose descriptor would take one of them waits (UT_TP_NOFD). */
#define FD_RESERVE 16

static bool fd_scarce(int fd)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	       (rlim_t)fd + FD_RESERVE >= rl.rlim_cur;
}

/* Read the link at (path) into (target): 0, or -1/-2 as ut_hosted_open. */
static int read_link(const char *path, char *target, size_t cap, char *err,
		     size_t errlen)
{
	ssize_t n = readlink(path, target, cap - 1);

	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? -2 : -1;
	}
	target[n] = 0;
	return 0;
}

int ut_hosted_open(const char *path, ut_hosted_t *h, char *err, size_t errlen)
{
	char target[128], again[128], proc[64];
	struct stat lst, st;
	int pid, fdn, end = 0, seals, rc;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	if (lstat(path, &lst) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? -2 : -1;
	}
	if (!S_ISLNK(lst.st_mode)) {
		snprintf(err, errlen, "%s: not a symbolic link to a guest's "
			 "/proc/PID/fd/N", path);
		return -1;
	}
	if ((rc = read_link(path, target, sizeof(target), err, errlen)))
		return rc;
	if (sscanf(target, "/proc/%d/fd/%d%n", &pid, &fdn, &end) != 2 ||
	    (size_t)end != strlen(target) || pid <= 0 || fdn < 0) {
		snprintf(err, errlen, "%s: points to '%s', not to a guest's "
			 "/proc/PID/fd/N", path, target);
		return -1;
	}
	{
		/* NAME.PID.ut: the pid in the name is the pid in the target */
		const char *base = strrchr(path, '/'), *dot;
		size_t bl;
		base = base ? base + 1 : path;
		bl = strlen(base);
		dot = bl > 3 ? memrchr(base, '.', bl - 3) : NULL;
		if (!dot || strtol(dot + 1, NULL, 10) != pid ||
		    (size_t)(dot + 1 - base) + (size_t)snprintf(NULL, 0, "%d.ut",
				pid) != bl) {
			snprintf(err, errlen, "%s: points to the descriptor of "
				 "process %d, not of the process its name "
				 "gives", path, pid);
			return -1;
		}
	}
	/* Open what was checked, not the link again: a link replaced
	 * meanwhile cannot make us open another path (a device, a FIFO).
	 * /proc/PID/fd/N reaches only a file that process holds open. */
	snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", pid, fdn);
	h->fd = open(proc, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (h->fd < 0) {
		int e = errno;
		if (e == EMFILE || e == ENFILE) {
			snprintf(err, errlen, "%s: out of file descriptors (%s)",
				 path, strerror(e));
			return -3;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? -2 : -1;
	}
	if (fd_scarce(h->fd)) {
		snprintf(err, errlen, "%s: out of file descriptors (%d in use)",
			 path, h->fd);
		close(h->fd);
		h->fd = -1;
		return -3;
	}
	if (fstat(h->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular memory file", path);
		goto fail;
	}
	seals = fcntl(h->fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		snprintf(err, errlen, "%s: shared area is not sealed against "
			 "shrinking (is the guest built with this unitrace?)", path);
		goto fail;
	}
	/* Whoever may write the directory must not point the collector at
	 * another user's guest: the link's owner is the memfd's. */
	if (lst.st_uid != st.st_uid) {
		snprintf(err, errlen, "%s: a link owned by uid %u to the memory "
			 "of uid %u", path, (unsigned)lst.st_uid,
			 (unsigned)st.st_uid);
		goto fail;
	}
	if (st.st_size < (off_t)sizeof(struct ut_area_hdr)) {
		snprintf(err, errlen, "%s: %lld bytes, too small for a unitrace "
			 "area", path, (long long)st.st_size);
		goto fail;
	}
	/* The entry still names what we opened (the owner checked is the
	 * owner of this link). */
	if ((rc = read_link(path, again, sizeof(again), err, errlen)) ||
	    strcmp(again, target) || lstat(path, &st) != 0 ||
	    st.st_ino != lst.st_ino || st.st_uid != lst.st_uid) {
		if (!rc)
			snprintf(err, errlen, "%s: the link changed while it was "
				 "opened", path);
		close(h->fd);
		h->fd = -1;
		return rc == -2 ? -2 : -1;
	}
	if (fstat(h->fd, &st) != 0)
		goto fail;
	h->size = (uint64_t)st.st_size;
	h->pid = pid;
	h->guest_fd = fdn;
	h->dev = (uint64_t)st.st_dev;
	h->ino = (uint64_t)st.st_ino;
	/* What we opened must be what process (pid) holds as descriptor
	 * (fdn) now: that pid is the guest's verified identity. */
	if (!ut_hosted_same_process(h)) {
		snprintf(err, errlen, "%s: what was opened is not descriptor %d "
			 "of process %d (the link changed?)", path, fdn, pid);
		goto fail;
	}
	h->map = mmap(NULL, h->size, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (h->map == MAP_FAILED) {
		h->map = NULL;
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(h->fd);
	h->fd = -1;
	return -1;
}

bool ut_hosted_alive(ut_hosted_t *h)
{
	if (h->dead)
		return false;
	if (flock(h->fd, LOCK_SH | LOCK_NB) == 0)
		h->dead = true; /* the guest's exclusive lock is gone */
	return !h->dead;
}

bool ut_hosted_same_process(const ut_hosted_t *h)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", h->pid, h->guest_fd);
	return stat(path, &st) == 0 && (uint64_t)st.st_dev == h->dev &&
	       (uint64_t)st.st_ino == h->ino;
}

void ut_hosted_close(ut_hosted_t *h)
{
	if (h->map)
		munmap(h->map, h->size);
	if (h->fd >= 0)
		close(h->fd);
	h->map = NULL;
	h->fd = -1;
}

/* ---- the transport (transport.h): rendezvous directory + memfd ---------- */

struct hosted_tp {
	ut_transport_t ops; /* first: the engine's handle */
	char dir[PATH_MAX - NAME_MAX - 2];
	int ino;            /* inotify on dir; -1 before start */
	DIR *pass;          /* a scan under way (SCAN_BATCH entries a call) */
};

/* Directory entries read per call of scan: a directory of 60 000 entries
 * is read over several cycles, not in one. */
#define SCAN_BATCH 2048

static bool is_entry(const char *name)
{
	size_t n = strlen(name);
	return n > 3 && name[0] != '.' && !strcmp(name + n - 3, ".ut");
}

static int htp_start(ut_transport_t *t, char *err, size_t errlen)
{
	struct hosted_tp *h = (struct hosted_tp *)t;
	struct stat st;

	if (mkdir(h->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create rendezvous directory %s: %s",
			 h->dir, strerror(errno));
		return -1;
	}
	/* Someone else's directory could hide, replace or plant guests. */
	if (lstat(h->dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, errlen, "rendezvous directory %s is not a directory "
			 "owned by you and writable only by you; remove it or "
			 "choose another with --dir", h->dir);
		return -1;
	}
	h->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (h->ino < 0 || inotify_add_watch(h->ino, h->dir,
			IN_CREATE | IN_MOVED_TO | IN_DELETE) < 0) {
		snprintf(err, errlen, "cannot watch %s: %s", h->dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static const char *htp_watching(ut_transport_t *t)
{
	return ((struct hosted_tp *)t)->dir;
}

static int htp_scan(ut_transport_t *t, ut_tp_found_fn found, void *ctx)
{
	struct hosted_tp *h = (struct hosted_tp *)t;
	char label[NAME_MAX + 1], path[PATH_MAX];
	struct dirent *de;
	int n = 0;

	if (!h->pass && !(h->pass = opendir(h->dir)))
		return -1;
	for (;;) {
		if (n++ == SCAN_BATCH)
			return 1; /* the rest of this pass at the next call */
		if (!(de = readdir(h->pass)))
			break;
		if (!is_entry(de->d_name))
			continue;
		snprintf(label, sizeof(label), "%s", de->d_name);
		for (size_t i = 0; label[i]; i++)
			if (label[i] < 0x20 || label[i] >= 0x7f)
				label[i] = '?';
		snprintf(path, sizeof(path), "%s/%s", h->dir, de->d_name);
		if (found(ctx, de->d_name, label, path, 0)) {
			closedir(h->pass);
			h->pass = NULL;
			return -1;
		}
	}
	closedir(h->pass);
	h->pass = NULL;
	return 0;
}

static bool htp_listed(ut_transport_t *t, const ut_tp_guest_t *g)
{
	struct stat st;

	(void)t;
	return lstat(g->path, &st) == 0;
}

static bool htp_wait(ut_transport_t *t, int ms)
{
	struct hosted_tp *h = (struct hosted_tp *)t;
	struct pollfd p = {h->ino, POLLIN, 0};
	char buf[4096];
	bool changed = false;

	if (poll(&p, 1, ms) > 0)
		while (read(h->ino, buf, sizeof(buf)) > 0)
			changed = true;
	return changed;
}

static int htp_open(ut_transport_t *t, ut_tp_guest_t *g, char *err,
		    size_t errlen)
{
	ut_hosted_t *ht = malloc(sizeof(*ht));
	int rc;

	(void)t;
	if (!ht) {
		snprintf(err, errlen, "out of memory");
		return UT_TP_REJECT;
	}
	rc = ut_hosted_open(g->path, ht, err, errlen);
	if (rc) {
		free(ht);
		if (rc == -3)
			return UT_TP_NOFD;
		if (rc == -2) { /* stale entry: the guest is gone */
			unlink(g->path);
			return UT_TP_STALE;
		}
		return UT_TP_REJECT;
	}
	g->priv = ht;
	g->map = ht->map;
	g->size = ht->size;
	g->area_dev = ht->dev;
	g->area_ino = ht->ino;
	return UT_TP_OK;
}

static void htp_guest_info(ut_transport_t *t, const ut_tp_guest_t *g,
			   ut_guest_info_t *gi, bool rejected)
{
	char *dot;

	(void)t;
	if (!rejected) {
		/* name and start time are the guest's own word (checked by
		 * the reader); the pid is the process that holds the memfd,
		 * as verified at open, so no guest can pose as another */
		if (g->priv)
			gi->pid = (uint32_t)((const ut_hosted_t *)g->priv)->pid;
		return;
	}
	/* NAME.PID.ut: the name may itself contain dots. */
	if ((dot = strrchr(gi->name, '.')) && !strcmp(dot, ".ut"))
		*dot = 0;
	if ((dot = strrchr(gi->name, '.'))) {
		*dot = 0;
		gi->pid = (uint32_t)strtoul(dot + 1, NULL, 10);
	}
	snprintf(gi->platform, sizeof(gi->platform), "hosted");
}

static bool htp_alive(ut_transport_t *t, ut_tp_guest_t *g)
{
	(void)t;
	g->gone = !ut_hosted_alive(g->priv);
	return !g->gone;
}

static int htp_crash(ut_transport_t *t, ut_tp_guest_t *g, ut_store_t *st,
		     int64_t guest_id, ut_reader_t *rd,
		     const struct ut_crash_opts *co, struct ut_crash_job **job)
{
	(void)t;
	return ut_crash_begin_hosted(st, guest_id, rd, g->priv, co, job);
}

static void htp_done(ut_transport_t *t, ut_tp_guest_t *g, bool crashed)
{
	(void)t, (void)crashed;
	unlink(g->path); /* the guest normally did already */
}

static void htp_close(ut_transport_t *t, ut_tp_guest_t *g)
{
	(void)t;
	if (g->priv) {
		ut_hosted_close(g->priv);
		free(g->priv);
	}
	g->priv = NULL;
	g->map = NULL;
}

static void htp_destroy(ut_transport_t *t)
{
	struct hosted_tp *h = (struct hosted_tp *)t;

	if (!h)
		return;
	if (h->ino >= 0)
		close(h->ino);
	if (h->pass)
		closedir(h->pass);
	free(h);
}

ut_transport_t *ut_tp_hosted_new(const char *dir)
{
	struct hosted_tp *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ops = (ut_transport_t){
		.name = "hosted",
		.start = htp_start,
		.watching = htp_watching,
		.scan = htp_scan,
		.listed = htp_listed,
		.wait = htp_wait,
		.open = htp_open,
		.guest_info = htp_guest_info,
		.alive = htp_alive,
		.crash = htp_crash,
		.done = htp_done,
		.close = htp_close,
		.destroy = htp_destroy,
	};
	h->ino = -1;
	if (dir)
		snprintf(h->dir, sizeof(h->dir), "%s", dir);
	else
		ut_hosted_default_dir(h->dir, sizeof(h->dir));
	return &h->ops;
}
