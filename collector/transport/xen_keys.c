/*
 * The Xen transport's hostile-input parsing, without any Xen library:
 * the xenstore values a guest publishes and the grant directory pages it
 * fills.  Always built (also where the Xen libraries are absent) so the
 * unit tests exercise it everywhere.
 */
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h" /* ut_text_guest_char */
#include "xen.h"

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

int ut_xen_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!s || len == 0 || len > UT_XEN_MAX_NUM_LEN)
		return -1;
	if (s[0] == '0' && len > 1)
		return -1; /* "007": not how anyone writes a number */
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0'); /* <= 10 digits: no wrap */
	}
	if (v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Values as stored by xenstored may or may not carry a trailing NUL. */
static size_t trim_len(const char *s, size_t len)
{
	while (len && s[len - 1] == 0)
		len--;
	return len;
}

/* Read a decimal key into (*out), 0..max. */
static int key_u32(const ut_xen_kv_t *kv, const char *key, uint32_t max,
		   uint32_t *out, char *err, size_t errlen)
{
	size_t len = 0;
	char *v = kv->get(kv->ctx, key, &len);
	int rc;

	if (!v)
		return FAIL("key %s is missing", key);
	len = trim_len(v, len);
	rc = ut_xen_parse_u32(v, len, max, out);
	if (rc) {
		char shown[24];
		size_t n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;
		for (size_t i = 0; i < n; i++)
			shown[i] = ut_text_guest_char(v[i]);
		shown[n] = 0;
		snprintf(err, errlen, "key %s: '%s%s' is not a decimal number "
			 "0..%u", key, shown, len > n ? "..." : "", max);
	}
	kv->free_fn(kv->ctx, v);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* True if (v[0..n)) holds a value twice.  Sorts a copy; -1: no memory. */
static int has_duplicates(const uint32_t *v, size_t n)
{
	uint32_t *c;
	int dup = 0;

	if (n < 2)
		return 0;
	if (!(c = malloc(n * sizeof(*c))))
		return -1;
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_u32);
	for (size_t i = 1; i < n && !dup; i++)
		dup = c[i] == c[i - 1];
	free(c);
	return dup;
}

static int parse_dir_refs(const char *v, size_t len, ut_xen_keys_t *k,
			  char *err, size_t errlen)
{
	size_t pos = 0;

	k->ndir = 0;
	if (len == 0)
		return FAIL("key dir-refs is empty");
	if (len > UT_XEN_MAX_DIR_REFS_LEN)
		return FAIL("key dir-refs is %zu bytes long (at most %u "
			    "directory pages)", len, UT_XEN_MAX_DIR_PAGES);
	while (pos <= len) {
		size_t end = pos;
		while (end < len && v[end] != ',')
			end++;
		if (k->ndir == UT_XEN_MAX_DIR_PAGES)
			return FAIL("key dir-refs lists more than %u grant refs",
				    UT_XEN_MAX_DIR_PAGES);
		if (ut_xen_parse_u32(v + pos, end - pos, UINT32_MAX,
				     &k->dir_refs[k->ndir]))
			return FAIL("key dir-refs: entry %u is not a decimal "
				    "grant ref", k->ndir + 1);
		k->ndir++;
		pos = end + 1; /* past the comma; > len after the last one */
	}
	return 0;
}

int ut_xen_keys_read(const ut_xen_kv_t *kv, ut_xen_keys_t *k, char *err,
		     size_t errlen)
{
	size_t len = 0;
	char *v;
	uint32_t want;
	int rc;

	memset(k, 0, sizeof(*k));
	if (key_u32(kv, "abi-version", UINT32_MAX, &k->abi_version, err, errlen))
		return -1;
	if (k->abi_version != UT_XEN_ABI_VERSION)
		return FAIL("guest publishes unitrace xenstore ABI version %u, "
			    "this collector speaks version %u: rebuild the guest "
			    "or the collector from the same release",
			    k->abi_version, UT_XEN_ABI_VERSION);

	/* The name only labels messages (the area header's name is stored):
	 * optional, bounded, made printable. */
	if ((v = kv->get(kv->ctx, "name", &len))) {
		len = trim_len(v, len);
		if (len > UT_NAME_LEN)
			len = UT_NAME_LEN;
		for (size_t i = 0; i < len; i++)
			k->name[i] = ut_text_guest_char(v[i]);
		k->name[len] = 0;
		kv->free_fn(kv->ctx, v);
	}

	if (key_u32(kv, "area-pages", UT_XEN_MAX_AREA_PAGES, &k->area_pages,
		    err, errlen))
		return -1;
	if (k->area_pages == 0)
		return FAIL("key area-pages is 0");
	if (key_u32(kv, "event-channel", UT_XEN_MAX_PORT, &k->evtchn, err,
		    errlen))
		return -1;

	if (!(v = kv->get(kv->ctx, "dir-refs", &len)))
		return FAIL("key dir-refs is missing");
	rc = parse_dir_refs(v, trim_len(v, len), k, err, errlen);
	kv->free_fn(kv->ctx, v);
	if (rc)
		return -1;
	want = (k->area_pages + UT_XEN_REFS_PER_DIR - 1) / UT_XEN_REFS_PER_DIR;
	if (k->ndir != want)
		return FAIL("key dir-refs lists %u directory pages, but %u area "
			    "pages need %u", k->ndir, k->area_pages, want);
	rc = has_duplicates(k->dir_refs, k->ndir);
	if (rc)
		return FAIL(rc < 0 ? "out of memory"
				   : "key dir-refs names a grant ref twice");
	return 0;
}

int ut_xen_dir_decode(const ut_xen_keys_t *k, const uint8_t *dir,
		      uint32_t *refs, char *err, size_t errlen)
{
	int rc;

	if (k->area_pages > k->ndir * UT_XEN_REFS_PER_DIR)
		return FAIL("%u area pages do not fit %u directory pages",
			    k->area_pages, k->ndir);
	for (uint32_t i = 0; i < k->area_pages; i++) {
		const uint8_t *p = dir + (size_t)i * 4;
		refs[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
			  (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	}
	rc = has_duplicates(refs, k->area_pages);
	if (rc)
		return FAIL(rc < 0 ? "out of memory"
				   : "the grant directory names a ref twice");
	for (uint32_t i = 0; i < k->area_pages; i++)
		for (uint32_t j = 0; j < k->ndir; j++)
			if (refs[i] == k->dir_refs[j])
				return FAIL("area page %u is granted by directory "
					    "ref %u", i, refs[i]);
	return 0;
}

bool ut_xen_domid_parse(const char *name, uint32_t *domid)
{
	uint32_t v;

	if (!name || ut_xen_parse_u32(name, strlen(name),
				      UT_XEN_DOMID_FIRST_RESERVED - 1, &v))
		return false;
	if (v == 0)
		return false;
	*domid = v;
	return true;
}

int32_t ut_xen_trap_signo(uint32_t kind, int32_t signo)
{
	switch (kind) {
	case UT_CRASH_PANIC:
		return SIGABRT;
	case UT_CRASH_SIGNAL:
		return signo > 0 && signo <= 64 ? signo : SIGSEGV;
	case UT_CRASH_TRAP:
		switch (signo) {
		case 0: case 16: case 19: return SIGFPE;  /* #DE #MF #XM */
		case 6: return SIGILL;                    /* #UD */
		case 1: case 3: return SIGTRAP;           /* #DB #BP */
		case 17: return SIGBUS;                   /* #AC */
		default: return SIGSEGV; /* #PF #GP #SS #NP #DF ... */
		}
	default:
		return SIGSEGV;
	}
}

/* ---- --elf [NAME=]PATH ------------------------------------------------- */

/* Split (spec): the glob's length (0: a bare PATH) and the path. */
static size_t elf_spec_split(const char *spec, const char **path)
{
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : 0;

	/* "dir/a=b.elf" is a path: a NAME holds no '/' */
	if (!n || memchr(spec, '/', n)) {
		*path = spec;
		return 0;
	}
	*path = eq + 1;
	return n;
}

const char *ut_xen_elf_for(const ut_xen_opts_t *o, const char *name)
{
	const char *any = NULL;

	for (size_t i = 0; i < o->nelfs; i++) {
		const char *path;
		size_t n = elf_spec_split(o->elfs[i], &path);
		char glob[UT_NAME_LEN * 4 + 1];

		if (!n) {
			any = path;
			continue;
		}
		if (n >= sizeof(glob) || !name)
			continue;
		memcpy(glob, o->elfs[i], n);
		glob[n] = 0;
		if (fnmatch(glob, name, 0) == 0)
			return path;
	}
	return any;
}

int ut_xen_elf_check(const char *spec, char *err, size_t errlen)
{
	const char *path;
	size_t n = elf_spec_split(spec, &path);

	if (n > UT_NAME_LEN * 4)
		return FAIL("guest name pattern longer than %d bytes",
			    UT_NAME_LEN * 4);
	if (!*path)
		return FAIL("'%s': no path after the guest name", spec);
	if (access(path, R_OK))
		return FAIL("%s: %s", path, strerror(errno));
	return 0;
}
