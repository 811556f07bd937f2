/*
 * The Xen dump's view of guest memory (collector/crash/guest_pt.c), over
 * synthetic frames: the PV p2m (frame list list -> frame lists -> p2m
 * frames, MFNs unlike pfns), its inverse, and the 4-level page-table walk
 * (4 KiB, 2 MiB, 1 GiB pages, non-present entries, NX/RW flags, a
 * higher-half kernel, a loop, garbage, aliasing caps).  Also the NT_FILE
 * payload made from an ELF's program headers.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "guest_pt.h"
#include "../tap.h"

#define PG 4096u
#define NF 4096u /* machine frames of the synthetic host */

/* A "machine": NF frames; each may be owned by the guest (readable). */
struct mach {
	uint64_t (*f)[512];
	uint8_t owned[NF];
	int pv;             /* entries hold MFNs translated through m2p */
	ut_m2p_t m2p;
	uint64_t ngfn;      /* HVM: gfns [0, ngfn) are populated */
	unsigned long reads;
};

static int m_read(void *ctx, uint64_t frame, void *page)
{
	struct mach *m = ctx;

	m->reads++;
	if (frame >= NF || !m->owned[frame])
		return -1;
	memcpy(page, m->f[frame], PG);
	return 0;
}

static int m_to_pfn(void *ctx, uint64_t frame, uint64_t *pfn)
{
	struct mach *m = ctx;

	if (m->pv)
		return ut_m2p_lookup(&m->m2p, frame, pfn);
	if (frame >= m->ngfn)
		return -1;
	*pfn = frame;
	return 0;
}

static struct mach *mach_new(void)
{
	struct mach *m = calloc(1, sizeof(*m));
	m->f = calloc(NF, PG);
	return m;
}

static void mach_free(struct mach *m)
{
	ut_m2p_free(&m->m2p);
	free(m->f);
	free(m);
}

static uint64_t alloc_frame(struct mach *m, uint64_t frame)
{
	m->owned[frame] = 1;
	memset(m->f[frame], 0, PG);
	return frame;
}

#define P 0x1ull
#define RW 0x2ull
#define PS 0x80ull
#define NX (1ull << 63)

static const ut_mem_range_t *find(const ut_mem_range_t *r, size_t n,
				  uint64_t va)
{
	for (size_t i = 0; i < n; i++)
		if (va >= r[i].addr && va - r[i].addr < r[i].len)
			return &r[i];
	return NULL;
}

/* PVH-like: identity 2 MiB pages over 4 GiB, only 8 MiB populated. */
static void test_identity_2m(void)
{
	struct mach *m = mach_new();
	ut_gframes_t g = {m, m_read, m_to_pfn};
	ut_mem_range_t *r;
	size_t n;
	char note[256] = "";

	m->ngfn = 2048; /* 8 MiB */
	uint64_t l4 = alloc_frame(m, 100), l3 = alloc_frame(m, 101);
	m->f[l4][0] = l3 * PG | P | RW;
	for (unsigned i = 0; i < 4; i++) {
		uint64_t l2 = alloc_frame(m, 102 + i);
		m->f[l3][i] = l2 * PG | P | RW;
		for (unsigned j = 0; j < 512; j++)
			m->f[l2][j] = (((uint64_t)i << 30) + ((uint64_t)j << 21)) |
				      P | RW | PS;
	}
	ok(ut_pt_walk(&g, l4, 1000, 1 << 20, &r, &n, note, sizeof(note)) == 0,
	   "identity 2M: walk succeeds (%s)", note);
	ok(n == 1 && r[0].addr == 0 && r[0].len == 8u << 20 && r[0].paddr == 0,
	   "identity 2M: one segment 0..8M at paddr 0 (n=%zu len=%llu)", n,
	   n ? (unsigned long long)r[0].len : 0ull);
	ok(n && r[0].flags == (UT_MEM_R | UT_MEM_W | UT_MEM_X), "identity 2M: RWX");
	ok(note[0] == 0, "identity 2M: no note");
	free(r);
	mach_free(m);
}

/* A higher-half kernel: 0xffffffff80000000 -> phys 0x100000 in 4 KiB
 * pages, text RX, data RW+NX, a hole (non-present), and a 1 GiB page. */
static void test_higher_half(void)
{
	struct mach *m = mach_new();
	ut_gframes_t g = {m, m_read, m_to_pfn};
	ut_mem_range_t *r;
	size_t n;
	char note[256] = "";

	m->ngfn = 1024;
	uint64_t l4 = alloc_frame(m, 200), l3 = alloc_frame(m, 201),
		 l2 = alloc_frame(m, 202), l1 = alloc_frame(m, 203);
	m->f[l4][511] = l3 * PG | P | RW;
	m->f[l3][510] = l2 * PG | P | RW;
	m->f[l2][0] = l1 * PG | P | RW;
	for (unsigned i = 0; i < 4; i++) /* text: 4 pages RX */
		m->f[l1][i] = (0x100000 + i * PG) | P;
	/* entry 4 not present */
	for (unsigned i = 5; i < 8; i++) /* data: RW, NX */
		m->f[l1][i] = (0x100000 + i * PG) | P | RW | NX;
	/* Low half: a 1 GiB page at 1 GiB -> phys 0 (only 4 MiB populated). */
	m->f[l4][0] = alloc_frame(m, 204) * PG | P | RW;
	m->f[204][1] = 0 | P | RW | PS;

	ok(ut_pt_walk(&g, l4, 1000, 1 << 20, &r, &n, note, sizeof(note)) == 0,
	   "higher half: walk succeeds (%s)", note);
	ok(n == 3, "higher half: 3 segments (got %zu)", n);
	const ut_mem_range_t *lo = find(r, n, 0x40000000);
	ok(lo && lo->addr == 0x40000000 && lo->len == 1024 * PG && lo->paddr == 0,
	   "1G page: 0x40000000 -> paddr 0, only the populated 4 MiB");
	const ut_mem_range_t *t = find(r, n, 0xffffffff80000000ull);
	ok(t && t->addr == 0xffffffff80000000ull && t->len == 4 * PG &&
	   t->paddr == 0x100000 && t->flags == (UT_MEM_R | UT_MEM_X),
	   "text at 0xffffffff80000000 -> paddr 0x100000, R-X");
	ok(!find(r, n, 0xffffffff80004000ull), "non-present page: no segment");
	const ut_mem_range_t *d = find(r, n, 0xffffffff80005000ull);
	ok(d && d->len == 3 * PG && d->paddr == 0x105000 &&
	   d->flags == (UT_MEM_R | UT_MEM_W), "data: RW-, NX honoured");
	ok(n == 3 && r[0].addr < r[1].addr && r[1].addr < r[2].addr,
	   "segments sorted by virtual address");
	free(r);
	mach_free(m);
}

/* Hostile tables: a self-referencing PML4 (a loop) and garbage. */
static void test_hostile(void)
{
	struct mach *m = mach_new();
	ut_gframes_t g = {m, m_read, m_to_pfn};
	ut_mem_range_t *r;
	size_t n;
	char note[512] = "";

	m->ngfn = NF;
	uint64_t l4 = alloc_frame(m, 300);
	for (unsigned i = 0; i < 512; i++)
		m->f[l4][i] = l4 * PG | P | RW; /* every entry: itself */
	ok(ut_pt_walk(&g, l4, 500, 1 << 20, &r, &n, note, sizeof(note)) == 0,
	   "loop: walk ends (%s)", note);
	ok(strstr(note, "stopped after") != NULL, "loop: the cap is noted");
	ok(m->reads <= 502, "loop: at most the cap of table reads (%lu)", m->reads);
	free(r);

	/* Aliasing: every PD entry maps the same 2 MiB: page cap. */
	note[0] = 0;
	uint64_t l4b = alloc_frame(m, 301), l3b = alloc_frame(m, 302),
		 l2b = alloc_frame(m, 303);
	m->f[l4b][0] = l3b * PG | P;
	for (unsigned i = 0; i < 512; i++) {
		m->f[l3b][i] = l2b * PG | P;
		m->f[l2b][i] = 0x200000 | P | PS;
	}
	ok(ut_pt_walk(&g, l4b, 10000, 4096, &r, &n, note, sizeof(note)) == 0 &&
	   strstr(note, "mapped pages"), "aliasing: page cap hit and noted");
	uint64_t tot = 0;
	for (size_t i = 0; i < n; i++)
		tot += r[i].len;
	ok(tot == 4096ull * PG, "aliasing: exactly the cap mapped");
	free(r);

	/* Garbage: random entries, frames out of range, reserved PS at L4. */
	note[0] = 0;
	uint64_t l4c = alloc_frame(m, 304);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < 512; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		m->f[l4c][i] = x | P;
	}
	m->f[l4c][3] = 0x000ffffffffff000ull | P | PS;
	int rc = ut_pt_walk(&g, l4c, 2000, 1 << 16, &r, &n, note, sizeof(note));
	ok(rc == 0 || rc == -1, "garbage: the walk returns (%d: %s)", rc, note);
	if (rc == 0)
		free(r);

	/* Root unreadable; nothing mapped. */
	note[0] = 0;
	ok(ut_pt_walk(&g, 4000, 10, 10, &r, &n, note, sizeof(note)) == -1 &&
	   strstr(note, "top table"), "unreadable root: -1 with a note");
	note[0] = 0;
	uint64_t empty = alloc_frame(m, 305);
	ok(ut_pt_walk(&g, empty, 10, 10, &r, &n, note, sizeof(note)) == -1 &&
	   strstr(note, "none"), "empty tables: -1 with a note");
	note[0] = 0;
	ok(ut_pt_walk(&g, UINT64_MAX, 10, 10, &r, &n, note, sizeof(note)) == -1,
	   "root beyond any frame: -1");
	mach_free(m);
}

/* PV: pfns 0..N map to scattered MFNs; the p2m tree and page tables hold
 * MFNs; PT_LOAD paddr must be the pfn's address, not the mfn's. */
static uint64_t pv_mfn(uint64_t pfn) { return 1000 + (pfn * 7) % 1500; }

static void test_pv(void)
{
	struct mach *m = mach_new();
	ut_gframes_t g = {m, m_read, m_to_pfn};
	uint64_t *p2m = NULL;
	char err[256] = "", note[256] = "";
	const uint64_t npfn = 1500; /* 7 and 1500 coprime: a permutation */

	m->pv = 1;
	for (uint64_t pfn = 0; pfn < npfn; pfn++)
		alloc_frame(m, pv_mfn(pfn));
	/* p2m frames: 3 (1500 entries), frame list, frame list list. */
	uint64_t p2mf[3] = {10, 11, 12}, fl = 13, fll = 14;
	for (int i = 0; i < 3; i++)
		alloc_frame(m, p2mf[i]);
	alloc_frame(m, fl);
	alloc_frame(m, fll);
	for (uint64_t pfn = 0; pfn < npfn; pfn++)
		m->f[p2mf[pfn / 512]][pfn % 512] = pv_mfn(pfn);
	m->f[p2mf[2]][1500 % 512 + 3] = 0xdeadbeefdeadbeefull; /* past max_pfn */
	for (int i = 0; i < 3; i++)
		m->f[fl][i] = p2mf[i];
	m->f[fll][0] = fl;

	ok(ut_p2m_read(&g, fll, npfn, &p2m, err, sizeof(err)) == 0,
	   "p2m: read (%s)", err);
	int same = 1;
	for (uint64_t pfn = 0; p2m && pfn < npfn; pfn++)
		same &= p2m[pfn] == pv_mfn(pfn);
	ok(p2m && same, "p2m: every pfn -> its mfn");
	ok(ut_m2p_build(&m->m2p, p2m, npfn) == 0 && m->m2p.n == npfn,
	   "m2p: inverse built");
	uint64_t pfn = 0;
	ok(ut_m2p_lookup(&m->m2p, pv_mfn(77), &pfn) == 0 && pfn == 77 &&
	   ut_m2p_lookup(&m->m2p, 5, &pfn) == -1, "m2p: lookups");

	/* Kernel at 0xffffffff80000000 = pfns 16..31, tables in guest frames
	 * (their entries are MFNs). */
	uint64_t l4 = pv_mfn(1), l3 = pv_mfn(2), l2 = pv_mfn(3), l1 = pv_mfn(4);
	memset(m->f[l4], 0, PG);
	memset(m->f[l3], 0, PG);
	memset(m->f[l2], 0, PG);
	memset(m->f[l1], 0, PG);
	m->f[l4][511] = l3 * PG | P | RW;
	m->f[l3][510] = l2 * PG | P | RW;
	m->f[l2][0] = l1 * PG | P | RW;
	for (unsigned i = 0; i < 16; i++)
		m->f[l1][i] = pv_mfn(16 + i) * PG | P | RW;
	/* A Xen slot: an L3 frame the guest does not own. */
	m->f[l4][272] = 7 * PG | P;
	/* A leaf at an mfn that is not the guest's (a foreign frame). */
	m->f[l1][20] = 3 * PG | P;
	ut_mem_range_t *r;
	size_t n;
	ok(ut_pt_walk(&g, l4, 100, 1 << 16, &r, &n, note, sizeof(note)) == 0,
	   "pv walk: succeeds (%s)", note);
	ok(n == 1 && r[0].addr == 0xffffffff80000000ull && r[0].len == 16 * PG &&
	   r[0].paddr == 16 * PG, "pv walk: one segment, paddr = pfn 16 (got "
	   "n=%zu paddr=%#llx)", n, n ? (unsigned long long)r[0].paddr : 0ull);
	free(r);
	free(p2m);

	/* Hostile p2m: no fll, too big, unreadable top, garbage entries. */
	ok(ut_p2m_read(&g, 0, npfn, &p2m, err, sizeof(err)) == -1 &&
	   strstr(err, "no p2m"), "p2m: fll 0 -> clear error");
	ok(ut_p2m_read(&g, fll, 0, &p2m, err, sizeof(err)) == -1,
	   "p2m: max_pfn 0 -> error");
	ok(ut_p2m_read(&g, fll, 513ull * 512 * 512, &p2m, err, sizeof(err)) == -1 &&
	   strstr(err, "too big"), "p2m: more than the tree holds -> error");
	ok(ut_p2m_read(&g, 3999, npfn, &p2m, err, sizeof(err)) == -1 &&
	   strstr(err, "cannot read"), "p2m: unreadable fll -> error");
	ok(ut_p2m_read(&g, ~0ull, npfn, &p2m, err, sizeof(err)) == -1,
	   "p2m: fll ~0 -> error");
	m->f[fl][1] = 0xffffffffffffull; /* a frame list entry beyond frames */
	m->f[p2mf[0]][5] = ~0ull;        /* an invalid entry */
	ok(ut_p2m_read(&g, fll, npfn, &p2m, err, sizeof(err)) == 0 &&
	   p2m[5] == UT_INVALID_FRAME && p2m[600] == UT_INVALID_FRAME &&
	   p2m[1100] == pv_mfn(1100), "p2m: bad entries become invalid, the rest "
	   "stays");
	/* build first: the arguments of ok() are evaluated in no set order */
	ut_m2p_t m2 = {0};
	int built = p2m ? ut_m2p_build(&m2, p2m, npfn) : -1;
	ok(built == 0 && m2.n == npfn - 513,
	   "m2p: invalid entries left out (%zu)", m2.n);
	ut_m2p_free(&m2);
	free(p2m);
	/* Every p2m entry the same mfn: the inverse keeps one. */
	for (unsigned i = 0; i < 512; i++)
		m->f[p2mf[0]][i] = 1000;
	m->f[fl][0] = 0;
	m->f[fl][1] = 0;
	m->f[fl][2] = p2mf[0];
	ok(ut_p2m_read(&g, fll, npfn, &p2m, err, sizeof(err)) == 0 &&
	   ut_m2p_build(&m2, p2m, npfn) == 0 && m2.n == 1 &&
	   ut_m2p_lookup(&m2, 1000, &pfn) == 0 && pfn == 1024,
	   "m2p: duplicate mfns keep the lowest pfn");
	ut_m2p_free(&m2);
	free(p2m);
	m->f[fl][2] = 0;
	ok(ut_p2m_read(&g, fll, npfn, &p2m, err, sizeof(err)) == -1 &&
	   strstr(err, "none"), "p2m: no readable frame -> error");
	mach_free(m);
}

/* NT_FILE from an ELF's PT_LOADs. */
static void test_ntfile(void)
{
	char path[] = "/tmp/ut-ntfile-XXXXXX";
	int fd = mkstemp(path);
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph[3] = {{0}};
	void *b;
	size_t len;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = 0x3000,
			     .p_vaddr = 0xffffffff80003000ull, .p_memsz = 0x1800};
	ph[1] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = 0x1000,
			     .p_vaddr = 0x101000, .p_memsz = 0x100};
	ph[2] = (Elf64_Phdr){.p_type = PT_NOTE};
	ok(fd >= 0 && write(fd, &eh, sizeof(eh)) == sizeof(eh) &&
	   write(fd, ph, sizeof(ph)) == sizeof(ph), "ntfile: ELF written");
	close(fd);
	ok(ut_core_ntfile_elf(path, &b, &len) == 0, "ntfile: built");
	const uint64_t *w = b;
	ok(w && w[0] == 2 && w[1] == 4096, "ntfile: 2 entries, page size");
	ok(w && w[2] == 0x101000 && w[3] == 0x102000 && w[4] == 1 &&
	   w[5] == 0xffffffff80003000ull && w[6] == 0xffffffff80005000ull &&
	   w[7] == 3, "ntfile: sorted, page-aligned, offsets in pages");
	ok(w && len == 16 + 2 * 24 + 2 * (strlen(path) + 1) &&
	   strcmp((const char *)b + 64, path) == 0, "ntfile: names");
	free(b);
	uint64_t av[6];
	ok(ut_core_auxv_elf(path, av) == -1, "auxv: no entry point -> -1");
	eh.e_entry = 0x101000;
	fd = open(path, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, &eh, sizeof(eh), 0) == sizeof(eh), "auxv: entry set");
	close(fd);
	ok(ut_core_auxv_elf(path, av) == 0 && av[0] == AT_PAGESZ && av[1] == 4096 &&
	   av[2] == AT_ENTRY && av[3] == 0x101000 && av[4] == AT_NULL,
	   "auxv: AT_PAGESZ, AT_ENTRY = e_entry, AT_NULL");
	unlink(path);
	ok(ut_core_ntfile_elf("/nonexistent/elf", &b, &len) == -1,
	   "ntfile: missing file -> -1");
	ok(ut_core_ntfile_elf("/proc/self/status", &b, &len) == -1,
	   "ntfile: not an ELF -> -1");
}

int main(void)
{
	test_identity_2m();
	test_higher_half();
	test_hostile();
	test_pv();
	test_ntfile();
	return tap_done();
}
