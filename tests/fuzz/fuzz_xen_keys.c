/*
 * libFuzzer target: what a Xen guest publishes in xenstore, and the
 * --elf arguments (collector/transport/xen_keys.c, built without any Xen
 * library).  The input is lines ('\n'-separated), each a key's value
 * exactly as xenstored would hand it over (no NUL added; a line "\xff"
 * alone is a missing key):
 *
 *   abi-version, name, area-pages, event-channel, dir-refs,
 *   a /local/domain entry name (ut_xen_domid_parse),
 *   an --elf [NAME=]PATH argument (ut_xen_elf_for, ut_xen_elf_check),
 *
 * and whatever follows is the grant directory's pages (zero-padded to
 * the pages the keys announce), decoded when the keys validate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"

#define NLINES 7

typedef struct {
	const uint8_t *val[5];
	size_t len[5];
} keys_t;

static const char *const key_names[5] = {
	"abi-version", "name", "area-pages", "event-channel", "dir-refs",
};

static void *kv_get(void *ctx, const char *key, size_t *len)
{
	const keys_t *k = ctx;

	for (int i = 0; i < 5; i++) {
		if (strcmp(key, key_names[i]))
			continue;
		if (!k->val[i])
			return NULL;
		/* an exact-size copy: reading past the value is an ASan report */
		void *v = malloc(k->len[i] ? k->len[i] : 1);
		if (!v)
			abort();
		memcpy(v, k->val[i], k->len[i]);
		*len = k->len[i];
		return v;
	}
	return NULL;
}

static void kv_free(void *ctx, void *v)
{
	(void)ctx;
	free(v);
}

/* A NUL-terminated copy of (p, n). */
static char *strndup_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *line[NLINES] = {0};
	size_t llen[NLINES] = {0};
	size_t pos = 0;
	int n = 0;
	keys_t kv = {0};
	ut_xen_keys_t k;
	char err[256];

	while (n < NLINES && pos <= size) {
		const uint8_t *nl = size > pos ? memchr(data + pos, '\n', size - pos)
					       : NULL;
		size_t end = nl ? (size_t)(nl - data) : size;
		line[n] = data + pos;
		llen[n++] = end - pos;
		pos = end + 1;
		if (!nl)
			break;
	}
	for (int i = 0; i < 5 && i < n; i++) {
		if (llen[i] == 1 && line[i][0] == 0xff)
			continue; /* missing */
		kv.val[i] = line[i];
		kv.len[i] = llen[i];
	}
	const ut_xen_kv_t ops = {&kv, kv_get, kv_free};
	if (ut_xen_keys_read(&ops, &k, err, sizeof(err)) == 0) {
		size_t dir_bytes = (size_t)k.ndir * UT_XEN_DIR_PAGE_SIZE;
		uint8_t *dir = calloc(1, dir_bytes);
		uint32_t *refs = malloc((size_t)k.area_pages * sizeof(*refs));
		if (!dir || !refs)
			abort();
		if (pos < size)
			memcpy(dir, data + pos,
			       size - pos < dir_bytes ? size - pos : dir_bytes);
		(void)ut_xen_dir_decode(&k, dir, refs, err, sizeof(err));
		free(dir);
		free(refs);
	}
	if (n > 5) {
		char *s = strndup_bytes(line[5], llen[5]);
		uint32_t domid;
		(void)ut_xen_domid_parse(s, &domid);
		free(s);
	}
	if (n > 6) {
		char *spec = strndup_bytes(line[6], llen[6]);
		const char *const elfs[2] = {spec, "/fallback.elf"};
		const ut_xen_opts_t o = {.cmd = "fuzz", .elfs = elfs, .nelfs = 2};
		(void)ut_xen_elf_for(&o, k.name[0] ? k.name : "guest");
		(void)ut_xen_elf_for(&o, NULL);
		(void)ut_xen_elf_check(spec, err, sizeof(err));
		free(spec);
	}
	return 0;
}
