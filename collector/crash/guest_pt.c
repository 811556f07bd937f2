/*
 * A guest's p2m and page tables, read through ut_gframes_t (guest_pt.h).
 * Used by the Xen dump (xen_dump.c); free of Xen headers so that the unit
 * tests run it over synthetic frames.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_pt.h"

#define PG 4096u
#define EPP 512u                           /* 8-byte entries per frame */
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull     /* bits 12..51 */

static void say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

/* Append to a note ("; " between parts). */
static void note_add(char *note, size_t cap, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (!note || !cap)
		return;
	n = strlen(note);
	if (n + 3 >= cap)
		return;
	if (n) {
		memcpy(note + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(note + n, cap - n, fmt, ap);
	va_end(ap);
}

/* ---- p2m ------------------------------------------------------------------ */

int ut_p2m_read(const ut_gframes_t *g, uint64_t fll, uint64_t max_pfn,
		uint64_t **p2m, char *err, size_t errlen)
{
	uint64_t *top = NULL, *mid = NULL, *out = NULL;
	uint64_t per_mid = (uint64_t)EPP * EPP, nmid, bad = 0;
	int rc = -1;

	*p2m = NULL;
	if (max_pfn == 0 || fll == 0) {
		say(err, errlen, "the guest published no p2m (shared_info max_pfn "
		    "%llu, pfn_to_mfn_frame_list_list %#llx)",
		    (unsigned long long)max_pfn, (unsigned long long)fll);
		return -1;
	}
	nmid = (max_pfn + per_mid - 1) / per_mid;
	if (nmid > EPP) {
		say(err, errlen, "the guest's p2m is too big (max_pfn %llu)",
		    (unsigned long long)max_pfn);
		return -1;
	}
	if (fll > UT_MAX_FRAME) {
		say(err, errlen, "the guest's p2m frame list list %#llx is not a "
		    "frame", (unsigned long long)fll);
		return -1;
	}
	top = malloc(PG);
	mid = malloc(PG);
	out = malloc(max_pfn * sizeof(*out));
	if (!top || !mid || !out) {
		say(err, errlen, "out of memory for a p2m of %llu entries",
		    (unsigned long long)max_pfn);
		goto done;
	}
	for (uint64_t i = 0; i < max_pfn; i++)
		out[i] = UT_INVALID_FRAME;
	if (g->read_frame(g->ctx, fll, top)) {
		say(err, errlen, "cannot read the guest's p2m frame list list "
		    "(frame %#llx)", (unsigned long long)fll);
		goto done;
	}
	for (uint64_t i = 0; i < nmid; i++) {
		if (top[i] == 0 || top[i] > UT_MAX_FRAME ||
		    g->read_frame(g->ctx, top[i], mid)) {
			bad += per_mid;
			continue;
		}
		for (uint64_t j = 0; j < EPP; j++) {
			uint64_t pfn0 = i * per_mid + j * EPP;
			if (pfn0 >= max_pfn)
				break;
			uint64_t n = max_pfn - pfn0 < EPP ? max_pfn - pfn0 : EPP;
			/* The p2m frame is read straight into place when whole. */
			uint64_t leaf[EPP];
			if (mid[j] == 0 || mid[j] > UT_MAX_FRAME ||
			    g->read_frame(g->ctx, mid[j], leaf)) {
				bad += n;
				continue;
			}
			for (uint64_t k = 0; k < n; k++)
				out[pfn0 + k] = leaf[k] <= UT_MAX_FRAME
						? leaf[k] : UT_INVALID_FRAME;
		}
	}
	if (bad >= max_pfn) {
		say(err, errlen, "none of the guest's p2m frames could be read");
		goto done;
	}
	*p2m = out;
	out = NULL;
	rc = 0;
done:
	free(top);
	free(mid);
	free(out);
	return rc;
}

static int cmp_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

int ut_m2p_build(ut_m2p_t *m, const uint64_t *p2m, uint64_t npfn)
{
	size_t n = 0;

	m->n = 0;
	m->pair = malloc((npfn ? npfn : 1) * sizeof(*m->pair));
	if (!m->pair)
		return -1;
	for (uint64_t pfn = 0; pfn < npfn; pfn++) {
		if (p2m[pfn] > UT_MAX_FRAME)
			continue;
		m->pair[n][0] = p2m[pfn];
		m->pair[n][1] = pfn;
		n++;
	}
	qsort(m->pair, n, sizeof(*m->pair), cmp_pair);
	/* An mfn twice (a lying guest): keep its lowest pfn. */
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (w == 0 || m->pair[w - 1][0] != m->pair[i][0]) {
			m->pair[w][0] = m->pair[i][0];
			m->pair[w][1] = m->pair[i][1];
			w++;
		}
	m->n = w;
	return 0;
}

int ut_m2p_lookup(const ut_m2p_t *m, uint64_t mfn, uint64_t *pfn)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->pair[mid][0] == mfn) {
			*pfn = m->pair[mid][1];
			return 0;
		}
		if (m->pair[mid][0] < mfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void ut_m2p_free(ut_m2p_t *m)
{
	free(m->pair);
	m->pair = NULL;
	m->n = 0;
}

/* ---- page tables ------------------------------------------------------------ */

typedef struct walk {
	const ut_gframes_t *g;
	uint64_t tables, max_tables, pages, max_pages;
	int table_cap_hit, page_cap_hit, oom;
	uint64_t unreadable_tables;
	ut_mem_range_t *r;
	size_t n, cap;
} walk_t;

static int emit(walk_t *w, uint64_t va, uint64_t pa, uint32_t flags)
{
	if (w->n) {
		ut_mem_range_t *l = &w->r[w->n - 1];
		if (l->addr + l->len == va && l->paddr + l->len == pa &&
		    l->flags == flags) {
			l->len += PG;
			return 0;
		}
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		ut_mem_range_t *r = realloc(w->r, cap * sizeof(*r));
		if (!r) {
			w->oom = 1;
			return -1;
		}
		w->r = r;
		w->cap = cap;
	}
	w->r[w->n++] = (ut_mem_range_t){va, PG, flags, pa};
	return 0;
}

/* The pages of a leaf mapping (npages frames from frame) at va. */
static int leaf(walk_t *w, uint64_t va, uint64_t frame, uint64_t npages,
		uint32_t flags)
{
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t pfn;
		if (w->pages >= w->max_pages) {
			w->page_cap_hit = 1;
			return -1;
		}
		if (frame + i > UT_MAX_FRAME ||
		    w->g->frame_to_pfn(w->g->ctx, frame + i, &pfn) ||
		    pfn > UT_MAX_FRAME)
			continue;
		w->pages++;
		if (emit(w, va + i * PG, pfn * PG, flags))
			return -1;
	}
	return 0;
}

static uint64_t canonical(uint64_t va)
{
	return (va & (1ull << 47)) ? va | 0xffff000000000000ull : va;
}

/* Walk the table (frame) of level (lvl) (4 = PML4 ... 1 = PT) that maps
 * from (base).  -1 stops the whole walk (a cap, out of memory). */
static int walk_table(walk_t *w, uint64_t frame, int lvl, uint64_t base,
		      int writable, int nx)
{
	uint64_t e[EPP];
	int shift = 12 + 9 * (lvl - 1);

	if (w->tables >= w->max_tables) {
		w->table_cap_hit = 1;
		return -1;
	}
	w->tables++;
	if (frame > UT_MAX_FRAME || w->g->read_frame(w->g->ctx, frame, e)) {
		w->unreadable_tables++;
		return 0;
	}
	for (unsigned i = 0; i < EPP; i++) {
		uint64_t pte = e[i];
		uint64_t va = canonical(base + ((uint64_t)i << shift));
		if (!(pte & PTE_P))
			continue;
		int wr = writable && (pte & PTE_RW);
		int x = nx || (pte & PTE_NX);
		uint32_t flags = UT_MEM_R | (wr ? UT_MEM_W : 0) | (x ? 0 : UT_MEM_X);
		if (lvl == 1 || (lvl <= 3 && (pte & PTE_PS))) {
			/* A page: 4 KiB, 2 MiB or 1 GiB; in a large one bit
			 * 12 is PAT, so the address is aligned to its size. */
			uint64_t size = 1ull << shift;
			uint64_t addr = pte & PTE_ADDR & ~(size - 1);
			if (leaf(w, va, addr / PG, size / PG, flags))
				return -1;
		} else if (lvl > 1 && !(pte & PTE_PS)) {
			if (walk_table(w, (pte & PTE_ADDR) / PG, lvl - 1, va, wr, x))
				return -1;
		}
		/* PS at level 4 is reserved: ignored. */
	}
	return 0;
}

int ut_pt_walk(const ut_gframes_t *g, uint64_t root, uint64_t max_tables,
	       uint64_t max_pages, ut_mem_range_t **out, size_t *nout,
	       char *note, size_t notelen)
{
	walk_t w = {.g = g, .max_tables = max_tables ? max_tables : 1,
		    .max_pages = max_pages};
	uint64_t probe[EPP];

	*out = NULL;
	*nout = 0;
	if (root > UT_MAX_FRAME || g->read_frame(g->ctx, root, probe)) {
		note_add(note, notelen, "page tables: cannot read the top table "
			 "(frame %#llx)", (unsigned long long)root);
		return -1;
	}
	walk_table(&w, root, 4, 0, 1, 0);
	if (w.oom) {
		free(w.r);
		note_add(note, notelen, "page tables: out of memory");
		return -1;
	}
	if (w.table_cap_hit)
		note_add(note, notelen, "page-table walk stopped after %llu tables "
			 "(a loop or aliasing?): the core has what was found "
			 "before", (unsigned long long)w.tables);
	if (w.page_cap_hit)
		note_add(note, notelen, "page-table walk stopped at %llu mapped "
			 "pages (a few times the guest's memory): the core has "
			 "what was found before", (unsigned long long)w.pages);
	if (!w.n) {
		free(w.r);
		note_add(note, notelen, "page tables map none of the guest's "
			 "memory");
		return -1;
	}
	*out = w.r;
	*nout = w.n;
	return 0;
}
