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
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "ut_hosted_dir.h"

void ut_hosted_default_dir(char *buf, size_t cap)
{
	ut_hosted_rendezvous_dir(buf, cap);
}

int ut_hosted_open(const char *path, ut_hosted_t *h, char *err, size_t errlen)
{
	char target[128];
	struct stat st;
	ssize_t n;
	int pid, fdn, end = 0, seals;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? -2 : -1;
	}
	target[n] = 0;
	if (sscanf(target, "/proc/%d/fd/%d%n", &pid, &fdn, &end) != 2 ||
	    end != n || pid <= 0 || fdn < 0) {
		snprintf(err, errlen, "%s: points to '%s', not to a guest's "
			 "/proc/PID/fd/N", path, target);
		return -1;
	}
	h->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (h->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? -2 : -1;
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
	if (st.st_size < (off_t)sizeof(struct ut_area_hdr)) {
		snprintf(err, errlen, "%s: %lld bytes, too small for a unitrace "
			 "area", path, (long long)st.st_size);
		goto fail;
	}
	h->size = (uint64_t)st.st_size;
	h->pid = pid;
	h->guest_fd = fdn;
	h->dev = (uint64_t)st.st_dev;
	h->ino = (uint64_t)st.st_ino;
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
