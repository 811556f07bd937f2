/*
 * The Xen transport, the parts that run without Xen: the xenstore values a
 * guest publishes (hostile: huge counts, not decimal, overflow, too many
 * refs, missing keys), the grant directory pages, the register conversion
 * (where the Xen headers are), the crash signal, and `collect --xen`
 * failing at once and clearly on a host that is not a Xen dom0.
 *
 * The real attach / drain / crash capture runs in the Xen rig (tests/xen/).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef UT_HAVE_XEN
#include <xen/xen.h>
#include <xen/hvm/save.h>
#endif

#include "collector.h"
#include "xen.h"
#include "../tap.h"

extern const struct ut_cmd ut_cmd_collect;


/* ---- a fake xenstore: key/value pairs, NULL value = missing ------------- */

#define NKEYS 6
struct fake {
	const char *key[NKEYS];
	const char *val[NKEYS];
	size_t len[NKEYS]; /* 0: strlen(val) */
	int outstanding;   /* values handed out and not freed */
};

static void *fake_get(void *ctx, const char *key, size_t *len)
{
	struct fake *f = ctx;
	for (int i = 0; i < NKEYS; i++) {
		if (!f->key[i] || strcmp(f->key[i], key) || !f->val[i])
			continue;
		size_t n = f->len[i] ? f->len[i] : strlen(f->val[i]);
		char *v = malloc(n ? n : 1);
		memcpy(v, f->val[i], n);
		*len = n;
		f->outstanding++;
		return v;
	}
	return NULL;
}

static void fake_free(void *ctx, void *val)
{
	struct fake *f = ctx;
	f->outstanding--;
	free(val);
}

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->key[0] = "abi-version";   f->val[0] = "1";
	f->key[1] = "name";          f->val[1] = "demo";
	f->key[2] = "area-pages";    f->val[2] = "1500";
	f->key[3] = "dir-refs";      f->val[3] = "8,9";
	f->key[4] = "event-channel"; f->val[4] = "5";
	f->key[5] = "state";         f->val[5] = "ready";
}

static void fake_set(struct fake *f, const char *key, const char *val)
{
	for (int i = 0; i < NKEYS; i++)
		if (f->key[i] && !strcmp(f->key[i], key)) {
			f->val[i] = val;
			f->len[i] = 0;
		}
}

/* Read the keys of (f) with (key) set to (val); expect failure mentioning
 * (why) (NULL: expect success). */
static void expect(const char *key, const char *val, const char *why,
		   const char *what)
{
	struct fake f;
	ut_xen_keys_t k;
	char err[256] = "";
	int rc;

	fake_init(&f);
	if (key)
		fake_set(&f, key, val);
	const ut_xen_kv_t kv = {&f, fake_get, fake_free};
	rc = ut_xen_keys_read(&kv, &k, err, sizeof(err));
	if (why)
		ok(rc == -1 && strstr(err, why), "%s: rejected (%s)", what, err);
	else
		ok(rc == 0, "%s: accepted %s", what, err);
	is_int(f.outstanding, 0, "%s: every value freed", what);
}

static void test_u32(void)
{
	uint32_t v = 7;

	ok(ut_xen_parse_u32("0", 1, 10, &v) == 0 && v == 0, "u32: 0");
	ok(ut_xen_parse_u32("4294967295", 10, UINT32_MAX, &v) == 0 &&
	   v == UINT32_MAX, "u32: UINT32_MAX");
	ok(ut_xen_parse_u32("4294967296", 10, UINT32_MAX, &v) == -1,
	   "u32: UINT32_MAX + 1 overflows");
	ok(ut_xen_parse_u32("9999999999", 10, UINT32_MAX, &v) == -1,
	   "u32: ten nines overflow");
	ok(ut_xen_parse_u32("18446744073709551617", 20, UINT32_MAX, &v) == -1,
	   "u32: 2^64 + 1 (too long)");
	ok(ut_xen_parse_u32("11", 2, 10, &v) == -1, "u32: above max");
	ok(ut_xen_parse_u32("", 0, 10, &v) == -1, "u32: empty");
	ok(ut_xen_parse_u32(NULL, 0, 10, &v) == -1, "u32: NULL");
	ok(ut_xen_parse_u32("-1", 2, 10, &v) == -1, "u32: sign");
	ok(ut_xen_parse_u32("+1", 2, 10, &v) == -1, "u32: plus");
	ok(ut_xen_parse_u32(" 1", 2, 10, &v) == -1, "u32: leading space");
	ok(ut_xen_parse_u32("1 ", 2, 10, &v) == -1, "u32: trailing space");
	ok(ut_xen_parse_u32("0x1", 3, 10, &v) == -1, "u32: hex");
	ok(ut_xen_parse_u32("01", 2, 10, &v) == -1, "u32: leading zero");
	ok(ut_xen_parse_u32("1\0" "2", 3, 100, &v) == -1, "u32: embedded NUL");
	ok(ut_xen_parse_u32("12", 1, 100, &v) == 0 && v == 1,
	   "u32: only (len) bytes are read");
}

static void test_keys(void)
{
	struct fake f;
	ut_xen_keys_t k;
	char err[256] = "";
	static char many[2048], toolong[2048], bigname[300];

	fake_init(&f);
	const ut_xen_kv_t kv = {&f, fake_get, fake_free};
	ok(ut_xen_keys_read(&kv, &k, err, sizeof(err)) == 0, "keys: good set (%s)",
	   err);
	ok(k.abi_version == 1 && k.area_pages == 1500 && k.ndir == 2 &&
	   k.dir_refs[0] == 8 && k.dir_refs[1] == 9 && k.evtchn == 5 &&
	   !strcmp(k.name, "demo"), "keys: values");

	/* A value as xenstored may store it, with a trailing NUL. */
	fake_init(&f);
	f.val[2] = "1500\0";
	f.len[2] = 5;
	ok(ut_xen_keys_read(&kv, &k, err, sizeof(err)) == 0 &&
	   k.area_pages == 1500, "keys: trailing NUL accepted");

	expect("abi-version", NULL, "abi-version is missing", "missing abi-version");
	expect("area-pages", NULL, "area-pages is missing", "missing area-pages");
	expect("dir-refs", NULL, "dir-refs is missing", "missing dir-refs");
	expect("event-channel", NULL, "event-channel is missing",
	       "missing event-channel");
	expect("name", NULL, NULL, "missing name (optional)");
	expect("abi-version", "2", "version 2", "abi-version 2");
	expect("abi-version", "1x", "not a decimal", "abi-version 1x");
	expect("area-pages", "0", "area-pages is 0", "area-pages 0");
	expect("area-pages", "65537", "not a decimal number 0..65536",
	       "area-pages 65537 (over 256 MiB)");
	expect("area-pages", "4294967296", "not a decimal",
	       "area-pages overflow");
	expect("area-pages", "99999999999999999999999", "not a decimal",
	       "area-pages huge");
	expect("area-pages", "-5", "not a decimal", "area-pages negative");
	expect("area-pages", "1024", "but 1024 area pages need 1",
	       "two directory pages for 1024 area pages");
	expect("area-pages", "2049", "need 3", "one directory page too few");
	expect("event-channel", "2147483648", "not a decimal",
	       "event channel past the port range");
	expect("event-channel", "", "not a decimal", "empty event channel");
	expect("dir-refs", "", "empty", "empty dir-refs");
	expect("dir-refs", "8,", "entry 2", "dir-refs trailing comma");
	expect("dir-refs", ",8", "entry 1", "dir-refs leading comma");
	expect("dir-refs", "8,,9", "entry 2", "dir-refs empty entry");
	expect("dir-refs", "8, 9", "entry 2", "dir-refs space");
	expect("dir-refs", "8,9,10", "lists 3 directory pages",
	       "dir-refs one too many");
	expect("dir-refs", "8,8", "twice", "dir-refs duplicate");
	expect("dir-refs", "8,4294967296", "entry 2", "dir-refs ref overflow");

	/* 65 refs: more than any area may need. */
	size_t n = 0;
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s%d",
				      i ? "," : "", 100 + i);
	expect("dir-refs", many, "more than 64", "dir-refs with 65 refs");
	memset(toolong, '1', 1000);
	toolong[1000] = 0;
	expect("dir-refs", toolong, "bytes long", "dir-refs 1000 bytes");

	/* The name is bounded and made printable. */
	fake_init(&f);
	memset(bigname, 'n', sizeof(bigname) - 1);
	bigname[0] = '\033';
	f.val[1] = bigname;
	ok(ut_xen_keys_read(&kv, &k, err, sizeof(err)) == 0 &&
	   strlen(k.name) == UT_NAME_LEN && k.name[0] == '?',
	   "keys: long name cut to %u bytes, control characters replaced",
	   UT_NAME_LEN);
	is_int(f.outstanding, 0, "keys: every value freed");
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void test_dir(void)
{
	ut_xen_keys_t k;
	uint8_t *dir = calloc(2, UT_PAGE_SIZE);
	uint32_t *refs = calloc(1500, sizeof(*refs));
	char err[256] = "";
	bool all = true;

	memset(&k, 0, sizeof(k));
	k.area_pages = 1500;
	k.ndir = 2;
	k.dir_refs[0] = 8;
	k.dir_refs[1] = 9;
	for (uint32_t i = 0; i < 1500; i++)
		put_le32(dir + 4 * i, 0x01000000u + i * 3);
	/* Garbage past area_pages in the last page is ignored. */
	memset(dir + 4 * 1500, 0xff, 2 * UT_PAGE_SIZE - 4 * 1500);
	ok(ut_xen_dir_decode(&k, dir, refs, err, sizeof(err)) == 0,
	   "dir: 1500 refs over two pages (%s)", err);
	for (uint32_t i = 0; i < 1500; i++)
		all = all && refs[i] == 0x01000000u + i * 3;
	ok(all, "dir: little-endian refs in order, across the page boundary");

	put_le32(dir + 4 * 1499, 0x01000000u); /* = ref of page 0 */
	ok(ut_xen_dir_decode(&k, dir, refs, err, sizeof(err)) == -1 &&
	   strstr(err, "twice"), "dir: a ref repeated is refused (%s)", err);
	put_le32(dir + 4 * 1499, 9);
	ok(ut_xen_dir_decode(&k, dir, refs, err, sizeof(err)) == -1 &&
	   strstr(err, "directory ref"),
	   "dir: an area page that is a directory page is refused (%s)", err);
	k.area_pages = 2049;
	ok(ut_xen_dir_decode(&k, dir, refs, err, sizeof(err)) == -1,
	   "dir: more area pages than the directory holds is refused");
	free(dir);
	free(refs);
}

static void test_domid(void)
{
	uint32_t d = 0;

	ok(ut_xen_domid_parse("1", &d) && d == 1, "domid: 1");
	ok(ut_xen_domid_parse("32751", &d) && d == 32751, "domid: 32751");
	ok(!ut_xen_domid_parse("0", &d), "domid: 0 (ourselves) skipped");
	ok(!ut_xen_domid_parse("32752", &d), "domid: DOMID_FIRST_RESERVED");
	ok(!ut_xen_domid_parse("4294967297", &d), "domid: overflow");
	ok(!ut_xen_domid_parse("x", &d), "domid: not a number");
	ok(!ut_xen_domid_parse("", &d), "domid: empty");
}

static void test_signo(void)
{
	is_int(ut_xen_trap_signo(UT_CRASH_TRAP, 14), SIGSEGV, "signo: #PF");
	is_int(ut_xen_trap_signo(UT_CRASH_TRAP, 13), SIGSEGV, "signo: #GP");
	is_int(ut_xen_trap_signo(UT_CRASH_TRAP, 0), SIGFPE, "signo: #DE");
	is_int(ut_xen_trap_signo(UT_CRASH_TRAP, 6), SIGILL, "signo: #UD");
	is_int(ut_xen_trap_signo(UT_CRASH_TRAP, 3), SIGTRAP, "signo: #BP");
	is_int(ut_xen_trap_signo(UT_CRASH_TRAP, 17), SIGBUS, "signo: #AC");
	is_int(ut_xen_trap_signo(UT_CRASH_TRAP, -5), SIGSEGV, "signo: bad vector");
	is_int(ut_xen_trap_signo(UT_CRASH_PANIC, 0), SIGABRT, "signo: panic");
	is_int(ut_xen_trap_signo(UT_CRASH_SIGNAL, 7), 7, "signo: signal");
	is_int(ut_xen_trap_signo(UT_CRASH_SIGNAL, 999), SIGSEGV,
	       "signo: bad signal");
	is_int(ut_xen_trap_signo(0, 0), SIGSEGV, "signo: no record");
}

static void test_regs(void)
{
#ifdef UT_HAVE_XEN
	struct hvm_hw_cpu cpu;
	struct vcpu_guest_context pv;
	uint64_t r[UT_CRASH_NREGS];

	memset(&cpu, 0, sizeof(cpu));
	cpu.rax = 0xa0; cpu.rbx = 0xb0; cpu.rcx = 0xc0; cpu.rdx = 0xd0;
	cpu.rbp = 0xbb; cpu.rsi = 0x51; cpu.rdi = 0xd1; cpu.rsp = 0x5b;
	cpu.r8 = 8; cpu.r9 = 9; cpu.r10 = 10; cpu.r11 = 11; cpu.r12 = 12;
	cpu.r13 = 13; cpu.r14 = 14; cpu.r15 = 15; cpu.rip = 0x100123;
	cpu.rflags = 0x246; cpu.cs_sel = 0x8; cpu.ss_sel = 0x10;
	cpu.ds_sel = 0x10; cpu.es_sel = 0x10; cpu.fs_sel = 0x18;
	cpu.gs_sel = 0x20; cpu.fs_base = 0xf5; cpu.gs_base = 0x65;
	ut_xen_regs_from_hvm(&cpu, r);
	ok(r[UT_X86_RAX] == 0xa0 && r[UT_X86_RBX] == 0xb0 &&
	   r[UT_X86_RCX] == 0xc0 && r[UT_X86_RDX] == 0xd0 &&
	   r[UT_X86_RBP] == 0xbb && r[UT_X86_RSI] == 0x51 &&
	   r[UT_X86_RDI] == 0xd1 && r[UT_X86_RSP] == 0x5b,
	   "regs hvm: general registers");
	ok(r[UT_X86_R8] == 8 && r[UT_X86_R9] == 9 && r[UT_X86_R10] == 10 &&
	   r[UT_X86_R11] == 11 && r[UT_X86_R12] == 12 && r[UT_X86_R13] == 13 &&
	   r[UT_X86_R14] == 14 && r[UT_X86_R15] == 15, "regs hvm: r8-r15");
	ok(r[UT_X86_RIP] == 0x100123 && r[UT_X86_EFLAGS] == 0x246 &&
	   r[UT_X86_CS] == 8 && r[UT_X86_SS] == 0x10 && r[UT_X86_DS] == 0x10 &&
	   r[UT_X86_ES] == 0x10 && r[UT_X86_FS] == 0x18 && r[UT_X86_GS] == 0x20 &&
	   r[UT_X86_FS_BASE] == 0xf5 && r[UT_X86_GS_BASE] == 0x65 &&
	   r[UT_X86_ORIG_RAX] == UINT64_MAX,
	   "regs hvm: rip, flags, selectors, bases, orig_rax -1");

	memset(&pv, 0, sizeof(pv));
	pv.user_regs.rax = 1; pv.user_regs.rbx = 2; pv.user_regs.rcx = 3;
	pv.user_regs.rdx = 4; pv.user_regs.rsi = 5; pv.user_regs.rdi = 6;
	pv.user_regs.rbp = 7; pv.user_regs.rsp = 8; pv.user_regs.r8 = 9;
	pv.user_regs.r15 = 16; pv.user_regs.rip = 0xffff800000001000ull;
	pv.user_regs.rflags = 0x202; pv.user_regs.cs = 0xe033;
	pv.user_regs.ss = 0xe02b; pv.fs_base = 0x1234;
	pv.gs_base_kernel = 0x5678; pv.gs_base_user = 0x9abc;
	ut_xen_regs_from_pv(&pv, r);
	ok(r[UT_X86_RAX] == 1 && r[UT_X86_RBX] == 2 && r[UT_X86_RCX] == 3 &&
	   r[UT_X86_RDX] == 4 && r[UT_X86_RSI] == 5 && r[UT_X86_RDI] == 6 &&
	   r[UT_X86_RBP] == 7 && r[UT_X86_RSP] == 8 && r[UT_X86_R8] == 9 &&
	   r[UT_X86_R15] == 16, "regs pv: general registers");
	ok(r[UT_X86_RIP] == 0xffff800000001000ull && r[UT_X86_EFLAGS] == 0x202 &&
	   r[UT_X86_CS] == 0xe033 && r[UT_X86_SS] == 0xe02b &&
	   r[UT_X86_FS_BASE] == 0x1234 && r[UT_X86_GS_BASE] == 0x5678 &&
	   r[UT_X86_ORIG_RAX] == UINT64_MAX,
	   "regs pv: rip, flags, selectors, kernel gs base");
#else
	ok(1, "# SKIP register conversion: built without the Xen headers");
#endif
}

/* ---- no Xen here: --xen fails at once ------------------------------------- */

static int run_collect(char *out, size_t outlen, int argc, char **argv)
{
	char path[] = "/tmp/test_xen_err.XXXXXX";
	int fd = mkstemp(path), saved = dup(2), rc;
	ssize_t n;

	fflush(stderr);
	dup2(fd, 2);
	rc = ut_cmd_collect.run(argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	return rc;
}

static void test_no_xen(void)
{
	char err[512] = "", out[2048], db[] = "/tmp/test_xen_db.XXXXXX";
	ut_xen_opts_t xo = {"collect", true, UT_XEN_CRASH_KEEP, NULL, 0};
	bool xen_host = access("/dev/xen/privcmd", F_OK) == 0;
	struct stat st;

	if (xen_host) {
		ok(1, "# SKIP this host is a Xen dom0: /dev/xen/privcmd exists");
		return;
	}
	ok(ut_xen_open(&xo, err, sizeof(err)) == NULL &&
	   strstr(err, "no Xen here") && strstr(err, "dom0"),
	   "open: fails clearly (%s)", err);

	if (!mkdtemp(db)) {
		ok(0, "mkdtemp");
		return;
	}
	char dbfile[64];
	snprintf(dbfile, sizeof(dbfile), "%s/t.db", db);
	char *a1[] = {"collect", "--xen", "-q", "-o", dbfile, NULL};
	is_int(run_collect(out, sizeof(out), 5, a1), 1, "collect --xen: exit 1");
	ok(strstr(out, "unitrace collect: no Xen here") != NULL,
	   "collect --xen: says why: %s", out);
	ok(stat(dbfile, &st) != 0, "collect --xen: no database created");

	char *a2[] = {"collect", "--on-crash", "destroy", "-o", dbfile, NULL};
	is_int(run_collect(out, sizeof(out), 5, a2), 2,
	       "collect --on-crash without --xen: usage error");
	char *a3[] = {"collect", "--xen", "--on-crash", "maybe", NULL};
	is_int(run_collect(out, sizeof(out), 4, a3), 2,
	       "collect --on-crash maybe: usage error");
	ok(strstr(out, "keep or destroy") != NULL, "... says what it wants");
	char *a4[] = {"collect", "--xen", "--dir", db, NULL};
	is_int(run_collect(out, sizeof(out), 4, a4), 2,
	       "collect --xen --dir: usage error");

	/* The hosted backend is unaffected: a short hosted run works. */
	char *a5[] = {"collect", "-q", "--dir", db, "--duration", "0.2", "-o",
		      dbfile, NULL};
	is_int(run_collect(out, sizeof(out), 8, a5), 0,
	       "hosted collect still works (%s)", out);
	unlink(dbfile);
	char side[80];
	snprintf(side, sizeof(side), "%s-wal", dbfile);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", dbfile);
	unlink(side);
	rmdir(db);
}

/* --elf [NAME=]PATH: which ELF symbolizes which guest */
static void test_elf_for(void)
{
	const char *specs[] = {"ukapp*=/boot/uk.elf", "/boot/default.elf",
			       "pvhdemo2=/boot/pvh2.elf", "dir/a=b.elf"};
	ut_xen_opts_t o = {"collect", true, UT_XEN_CRASH_KEEP, specs, 4};
	char err[256];

	ok(!strcmp(ut_xen_elf_for(&o, "ukapp1"), "/boot/uk.elf"),
	   "elf: a glob picks the ELF of the guests it matches");
	ok(!strcmp(ut_xen_elf_for(&o, "pvhdemo2"), "/boot/pvh2.elf"),
	   "elf: NAME=PATH after a bare PATH still wins for NAME");
	ok(!strcmp(ut_xen_elf_for(&o, "other"), "dir/a=b.elf"),
	   "elf: a '/' before '=' makes the whole argument a path (the last "
	   "bare PATH serves the rest)");
	o.nelfs = 1;
	ok(ut_xen_elf_for(&o, "other") == NULL && ut_xen_elf_for(&o, NULL) == NULL,
	   "elf: no match and no bare PATH: none");
	o.nelfs = 0;
	ok(ut_xen_elf_for(&o, "ukapp1") == NULL, "elf: no --elf: none");
	ok(ut_xen_elf_check("x=/nonexistent/elf", err, sizeof(err)) == -1 &&
	   strstr(err, "/nonexistent/elf"), "elf: a missing file is refused (%s)",
	   err);
	ok(ut_xen_elf_check("x=", err, sizeof(err)) == -1,
	   "elf: NAME= without a path is refused (%s)", err);
	ok(ut_xen_elf_check("ukapp*=/proc/self/exe", err, sizeof(err)) == 0,
	   "elf: a readable file is taken");
}

int main(void)
{
	test_u32();
	test_keys();
	test_dir();
	test_domid();
	test_signo();
	test_regs();
	test_no_xen();
	test_elf_for();
	return tap_done();
}
