/*
 * unitrace crash: the crashes of a trace database, and one crash in
 * detail (what happened, registers, backtrace, the last events of each
 * vCPU, the core file and how to open it).
 *
 * Everything read from the database may come from a hostile guest (the
 * reason, the raw record, event strings) or from a damaged file: text is
 * printed with control characters escaped, the raw record is used only if
 * it has the right size and magic, and the core file is checked with
 * ut_core_check (bounded reads) before it is described.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "backtrace.h"
#include "cli.h"
#include "collector.h"
#include "core.h"
#include "tracedb.h"

static const char crash_usage[] =
	"usage: unitrace crash [-n N] DB [ID]\n"
	"\n"
	"Without ID: list the guest crashes recorded in the trace database\n"
	"DB, one line each: crash id, guest, time (seconds of the guest's\n"
	"monotonic clock), what happened (signal, trap or panic), the\n"
	"faulting address and the core file.\n"
	"\n"
	"With ID: show crash ID in detail: the signal or trap and its code\n"
	"by name, the faulting address, the reason the guest gave, the\n"
	"registers, the backtrace the collector stored (and how it was\n"
	"obtained: fp = frame-pointer walk, cfi-core / cfi-pid = libdw's CFI\n"
	"unwinder), the last events before the crash on each vCPU of the\n"
	"guest with their fields, the core file (whether it is still there\n"
	"and complete, its size and disk use) and the gdb command that\n"
	"opens it.\n"
	"\n"
	"Options:\n"
	"  -n N        events to show per vCPU (default 10, 0 for none)\n"
	"  -h, --help  show this help\n"
	"\n"
	"Exit status: 0 success; 1 the database cannot be read, there is no\n"
	"crash ID, or the crash's core file is missing, truncated or\n"
	"garbled (the rest is still shown); 2 usage.\n";

#define CMD "crash"

/* ---- names ------------------------------------------------------------- */

static const char *signal_name(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",
		[SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
		[SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
		[SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",
		[SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1",
		[SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",
		[SIGTERM] = "SIGTERM", [SIGSTKFLT] = "SIGSTKFLT",
		[SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
		[SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",
		[SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",
		[SIGURG] = "SIGURG",   [SIGXCPU] = "SIGXCPU",
		[SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM",
		[SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
		[SIGIO] = "SIGIO",     [SIGPWR] = "SIGPWR",
		[SIGSYS] = "SIGSYS",
	};

	if (sig > 0 && (size_t)sig < sizeof(names) / sizeof(names[0]) &&
	    names[sig])
		return names[sig];
	return NULL;
}

struct code_name {
	int sig, code;
	const char *name, *what;
};

static const struct code_name code_names[] = {
	{ SIGSEGV, 1, "SEGV_MAPERR", "address not mapped" },
	{ SIGSEGV, 2, "SEGV_ACCERR", "no permission for the access" },
	{ SIGSEGV, 3, "SEGV_BNDERR", "bounds check failed" },
	{ SIGSEGV, 4, "SEGV_PKUERR", "protection key check failed" },
	{ SIGBUS, 1, "BUS_ADRALN", "misaligned address" },
	{ SIGBUS, 2, "BUS_ADRERR", "nonexistent physical address" },
	{ SIGBUS, 3, "BUS_OBJERR", "object-specific hardware error" },
	{ SIGBUS, 4, "BUS_MCEERR_AR", "machine check, action required" },
	{ SIGBUS, 5, "BUS_MCEERR_AO", "machine check, action optional" },
	{ SIGILL, 1, "ILL_ILLOPC", "illegal opcode" },
	{ SIGILL, 2, "ILL_ILLOPN", "illegal operand" },
	{ SIGILL, 3, "ILL_ILLADR", "illegal addressing mode" },
	{ SIGILL, 4, "ILL_ILLTRP", "illegal trap" },
	{ SIGILL, 5, "ILL_PRVOPC", "privileged opcode" },
	{ SIGILL, 6, "ILL_PRVREG", "privileged register" },
	{ SIGILL, 7, "ILL_COPROC", "coprocessor error" },
	{ SIGILL, 8, "ILL_BADSTK", "internal stack error" },
	{ SIGFPE, 1, "FPE_INTDIV", "integer divide by zero" },
	{ SIGFPE, 2, "FPE_INTOVF", "integer overflow" },
	{ SIGFPE, 3, "FPE_FLTDIV", "floating-point divide by zero" },
	{ SIGFPE, 4, "FPE_FLTOVF", "floating-point overflow" },
	{ SIGFPE, 5, "FPE_FLTUND", "floating-point underflow" },
	{ SIGFPE, 6, "FPE_FLTRES", "floating-point inexact result" },
	{ SIGFPE, 7, "FPE_FLTINV", "invalid floating-point operation" },
	{ SIGFPE, 8, "FPE_FLTSUB", "subscript out of range" },
	{ SIGTRAP, 1, "TRAP_BRKPT", "breakpoint" },
	{ SIGTRAP, 2, "TRAP_TRACE", "trace trap" },
	{ 0, 0, "SI_USER", "sent by kill()" },
	{ 0, 0x80, "SI_KERNEL", "sent by the kernel" },
	{ 0, -1, "SI_QUEUE", "sent by sigqueue()" },
	{ 0, -2, "SI_TIMER", "timer expired" },
	{ 0, -6, "SI_TKILL", "sent by tkill()/raise()/abort()" },
};

static const struct code_name *code_name(int sig, int code)
{
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
		if (code_names[i].sig == sig && code_names[i].code == code)
			return &code_names[i];
	/* generic codes (<= 0 and SI_KERNEL) apply to every signal */
	if (code <= 0 || code == 0x80)
		for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]);
		     i++)
			if (!code_names[i].sig && code_names[i].code == code)
				return &code_names[i];
	return NULL;
}

static const char *trap_name(int v)
{
	static const char *const names[] = {
		[0] = "#DE divide error",
		[1] = "#DB debug",
		[2] = "NMI",
		[3] = "#BP breakpoint",
		[4] = "#OF overflow",
		[5] = "#BR bound range exceeded",
		[6] = "#UD invalid opcode",
		[7] = "#NM device not available",
		[8] = "#DF double fault",
		[10] = "#TS invalid TSS",
		[11] = "#NP segment not present",
		[12] = "#SS stack-segment fault",
		[13] = "#GP general protection fault",
		[14] = "#PF page fault",
		[16] = "#MF x87 floating-point error",
		[17] = "#AC alignment check",
		[18] = "#MC machine check",
		[19] = "#XM SIMD floating-point error",
		[20] = "#VE virtualization exception",
		[21] = "#CP control protection",
	};

	if (v >= 0 && (size_t)v < sizeof(names) / sizeof(names[0]) && names[v])
		return names[v];
	return NULL;
}

/* "SIGSEGV", "trap 14", "panic": short form for the list. */
static void what_short(char *buf, size_t len, const char *kind, int sig)
{
	if (kind && !strcmp(kind, "panic")) {
		snprintf(buf, len, "panic");
	} else if (kind && !strcmp(kind, "trap")) {
		const char *t = trap_name(sig);
		if (t && t[0] == '#') /* "#PF (14)" */
			snprintf(buf, len, "%.*s (%d)", (int)strcspn(t, " "), t,
				 sig);
		else
			snprintf(buf, len, "trap %d", sig);
	} else {
		const char *n = signal_name(sig);
		if (n)
			snprintf(buf, len, "%s", n);
		else
			snprintf(buf, len, "signal %d", sig);
	}
}

/* ---- output helpers ---------------------------------------------------- */

/* Print (s) (n bytes, or up to NUL if n < 0) with control characters
 * escaped (ut_text_escape). */
static void put_clean(const char *s, int n)
{
	char buf[4 * 256 + 1];
	size_t left = n < 0 ? (s ? strlen(s) : 0) : (size_t)n;

	if (!s) {
		fputs("-", stdout);
		return;
	}
	while (left) {
		size_t k = left < 256 ? left : 256;
		/* whole UTF-8 sequences per piece: back off a cut one */
		for (size_t b = 0; k < left && b < 3 && k > 1 &&
				   ((unsigned char)s[k] & 0xc0) == 0x80; b++)
			k--;
		ut_text_escape(buf, sizeof(buf), s, k);
		fputs(buf, stdout);
		s += k;
		left -= k;
	}
}

static const char *col_text(sqlite3_stmt *s, int c)
{
	return (const char *)sqlite3_column_text(s, c);
}

/* (path) quoted for a POSIX shell if it needs it. */
static void put_shell_word(const char *path)
{
	bool plain = *path != 0;

	for (const char *p = path; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789/._-+,:=@%",
			    *p))
			plain = false;
	if (plain) {
		put_clean(path, -1);
		return;
	}
	putchar('\'');
	for (const char *p = path; *p;) {
		size_t k = strcspn(p, "'");
		put_clean(p, (int)k); /* runs between quotes: UTF-8 kept */
		p += k;
		if (*p == '\'')
			fputs("'\\''", stdout), p++;
	}
	putchar('\'');
}

static void fmt_bytes(char *buf, size_t len, uint64_t b)
{
	if (b < 1024)
		snprintf(buf, len, "%llu B", (unsigned long long)b);
	else if (b < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", (double)b / 1024);
	else if (b < 1024ull * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)b / (1024 * 1024));
	else
		snprintf(buf, len, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
}

/* ---- the database ------------------------------------------------------- */

/* Does the database have the crash columns and crash_frames (written by a
 * collector with crash capture)?  1 yes, 0 no, -1 error. */
static int has_crash_details(sqlite3 *db)
{
	int col = ut_tracedb_has_column(db, "crashes", "record");
	int tab = ut_tracedb_has_table(db, "crash_frames");

	return col < 0 || tab < 0 ? -1 : col && tab;
}

static int list_crashes(sqlite3 *db, const char *path, bool ext)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(
		db,
		ext ? "SELECT c.id, c.guest_id, g.name, c.ts, c.signal, "
		      "c.kind, c.fault_addr, c.core_path, c.reason "
		      "FROM crashes c LEFT JOIN guests g ON g.id = c.guest_id "
		      "ORDER BY c.id"
		    : "SELECT c.id, c.guest_id, g.name, c.ts, c.signal, "
		      "NULL, c.fault_addr, c.core_path, c.reason "
		      "FROM crashes c LEFT JOIN guests g ON g.id = c.guest_id "
		      "ORDER BY c.id",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return -1;
	ut_tab_t *t = ut_tab_new(8);
	if (!t) {
		sqlite3_finalize(s);
		return -1;
	}
	static const char *const hdr[] = { "ID",   "GUEST", "NAME",
					   "TIME", "WHAT",  "FAULT_ADDR",
					   "CORE", "REASON" };
	int rows = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char buf[64];
		if (!rows++)
			for (int i = 0; i < 8; i++)
				ut_tab_add(t, hdr[i], i < 2);
		ut_tab_addf(t, true, "%lld", sqlite3_column_int64(s, 0));
		ut_tab_addf(t, true, "%lld", sqlite3_column_int64(s, 1));
		ut_tab_add(t, col_text(s, 2) ? col_text(s, 2) : "?", false);
		if (sqlite3_column_type(s, 3) == SQLITE_NULL) {
			ut_tab_add(t, "-", false);
		} else {
			ut_fmt_ts(buf, sizeof(buf), sqlite3_column_int64(s, 3));
			ut_tab_add(t, buf, false);
		}
		what_short(buf, sizeof(buf), col_text(s, 5),
			   sqlite3_column_int(s, 4));
		ut_tab_add(t, buf, false);
		if (sqlite3_column_type(s, 6) == SQLITE_NULL)
			ut_tab_add(t, "-", false);
		else
			ut_tab_addf(t, false, "0x%llx",
				    (unsigned long long)sqlite3_column_int64(s,
									     6));
		ut_tab_add(t, col_text(s, 7) ? col_text(s, 7) : "-", false);
		ut_tab_add(t, col_text(s, 8) ? col_text(s, 8) : "", false);
	}
	ut_tab_free(t);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	if (!rows)
		printf("no crashes recorded in %s\n", path);
	return 0;
}

/* ---- one crash ------------------------------------------------------------ */

struct crash {
	int64_t id, guest;
	bool has_ts;
	int64_t ts;
	int sig, code;
	bool has_code;
	char kind[16];
	uint64_t fault;
	bool has_fault;
	char reason[UT_CRASH_REASON_LEN * 4 + 1];
	bool has_reason;
	char *registers, *core_path, *elf_path, *bt_method, *note,
		*backtrace;
	int64_t vcpu, tid;
	bool has_vcpu, has_tid;
	bool rec_ok;
	struct ut_crash_rec rec;
	/* the guest */
	char gname[UT_NAME_LEN * 4 + 1], platform[32], build_id[80];
	int64_t pid, start_realtime, clock_ns_ref;
	bool has_clock;
};

static char *dup_col(sqlite3_stmt *s, int c)
{
	const char *t = col_text(s, c);
	return t ? strdup(t) : NULL;
}

static void crash_free(struct crash *c)
{
	free(c->registers);
	free(c->core_path);
	free(c->elf_path);
	free(c->bt_method);
	free(c->note);
	free(c->backtrace);
}

static void copy_col(sqlite3_stmt *s, int col, char *dst, size_t len)
{
	const char *t = col_text(s, col);
	snprintf(dst, len, "%s", t ? t : "");
}

/* Load crash (id).  0, 1 if there is no such crash, -1 on error. */
static int crash_load(sqlite3 *db, int64_t id, bool ext, struct crash *c)
{
	sqlite3_stmt *s;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = sqlite3_prepare_v2(
		db,
		ext ? "SELECT c.id, c.guest_id, c.ts, c.signal, c.code, c.kind, "
		      "c.fault_addr, c.reason, c.registers, c.core_path, "
		      "c.elf_path, c.bt_method, c.note, c.backtrace, c.vcpu, "
		      "c.tid, c.record, g.name, g.platform, g.pid, g.build_id, "
		      "g.start_realtime, g.clock_ns_ref "
		      "FROM crashes c LEFT JOIN guests g ON g.id = c.guest_id "
		      "WHERE c.id = ?1"
		    : "SELECT c.id, c.guest_id, c.ts, c.signal, NULL, NULL, "
		      "c.fault_addr, c.reason, c.registers, c.core_path, "
		      "NULL, NULL, NULL, c.backtrace, NULL, NULL, NULL, g.name, "
		      "g.platform, g.pid, g.build_id, g.start_realtime, "
		      "g.clock_ns_ref "
		      "FROM crashes c LEFT JOIN guests g ON g.id = c.guest_id "
		      "WHERE c.id = ?1",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		return rc == SQLITE_DONE ? 1 : -1;
	}
	c->id = sqlite3_column_int64(s, 0);
	c->guest = sqlite3_column_int64(s, 1);
	c->has_ts = sqlite3_column_type(s, 2) != SQLITE_NULL;
	c->ts = sqlite3_column_int64(s, 2);
	c->sig = sqlite3_column_int(s, 3);
	c->has_code = sqlite3_column_type(s, 4) != SQLITE_NULL;
	c->code = sqlite3_column_int(s, 4);
	copy_col(s, 5, c->kind, sizeof(c->kind));
	c->has_fault = sqlite3_column_type(s, 6) != SQLITE_NULL;
	c->fault = (uint64_t)sqlite3_column_int64(s, 6);
	c->has_reason = sqlite3_column_type(s, 7) != SQLITE_NULL;
	copy_col(s, 7, c->reason, sizeof(c->reason));
	c->registers = dup_col(s, 8);
	c->core_path = dup_col(s, 9);
	c->elf_path = dup_col(s, 10);
	c->bt_method = dup_col(s, 11);
	c->note = dup_col(s, 12);
	c->backtrace = dup_col(s, 13);
	c->has_vcpu = sqlite3_column_type(s, 14) != SQLITE_NULL;
	c->vcpu = sqlite3_column_int64(s, 14);
	c->has_tid = sqlite3_column_type(s, 15) != SQLITE_NULL;
	c->tid = sqlite3_column_int64(s, 15);
	if (sqlite3_column_type(s, 16) == SQLITE_BLOB &&
	    sqlite3_column_bytes(s, 16) == (int)sizeof(c->rec)) {
		memcpy(&c->rec, sqlite3_column_blob(s, 16), sizeof(c->rec));
		c->rec_ok = c->rec.magic == UT_CRASH_MAGIC &&
			    c->rec.arch == UT_ARCH_X86_64;
	}
	copy_col(s, 17, c->gname, sizeof(c->gname));
	copy_col(s, 18, c->platform, sizeof(c->platform));
	c->pid = sqlite3_column_int64(s, 19);
	copy_col(s, 20, c->build_id, sizeof(c->build_id));
	c->has_clock = sqlite3_column_type(s, 21) != SQLITE_NULL &&
		       sqlite3_column_type(s, 22) != SQLITE_NULL;
	c->start_realtime = sqlite3_column_int64(s, 21);
	c->clock_ns_ref = sqlite3_column_int64(s, 22);
	sqlite3_finalize(s);
	if (!c->kind[0])
		snprintf(c->kind, sizeof(c->kind), "%s",
			 c->rec_ok ? ut_crash_kind_name(c->rec.kind) : "signal");
	if (!c->has_code && c->rec_ok) {
		c->has_code = true;
		c->code = c->rec.code;
	}
	return 0;
}

static void show_what(const struct crash *c)
{
	printf("  what:       ");
	if (!strcmp(c->kind, "panic")) {
		printf("panic (the guest called ut_panic)\n");
	} else if (!strcmp(c->kind, "trap")) {
		const char *t = trap_name(c->sig);
		printf("CPU exception %d%s%s%s", c->sig, t ? " (" : "",
		       t ? t : "", t ? ")" : "");
		if (c->has_code) {
			printf(", error code 0x%x", (unsigned)c->code);
			if (c->sig == 14)
				printf(" (%s, %s, %s%s)",
				       c->code & 1 ? "protection violation"
						   : "page not present",
				       c->code & 2 ? "write" : "read",
				       c->code & 4 ? "user mode"
						   : "kernel mode",
				       c->code & 16 ? ", instruction fetch"
						    : "");
		}
		putchar('\n');
	} else {
		const char *n = signal_name(c->sig);
		printf("signal %s (%d)", n ? n : "?", c->sig);
		if (c->sig > 0 && c->sig < 65)
			printf(": %s", strsignal(c->sig));
		if (c->has_code) {
			const struct code_name *cn = code_name(c->sig, c->code);
			printf(", code %s (%d)%s%s", cn ? cn->name : "?",
			       c->code, cn ? ": " : "", cn ? cn->what : "");
		}
		putchar('\n');
	}
}

static void show_header(const struct crash *c)
{
	printf("crash %lld of guest %lld \"", (long long)c->id,
	       (long long)c->guest);
	put_clean(c->gname, -1);
	printf("\" (");
	put_clean(c->platform[0] ? c->platform : "?", -1);
	printf(" %s %lld)\n",
	       !strcmp(c->platform, "xen") ? "domain" : "pid",
	       (long long)c->pid);
	printf("  time:       ");
	if (c->has_ts) {
		char buf[48];
		ut_fmt_ts(buf, sizeof(buf), c->ts);
		printf("%s s (guest monotonic clock)", buf);
		int64_t d, wall;
		/* the times come from the file: no wall time if they overflow */
		if (c->has_clock &&
		    !__builtin_sub_overflow(c->ts, c->clock_ns_ref, &d) &&
		    !__builtin_add_overflow(c->start_realtime, d, &wall)) {
			time_t secs = (time_t)(wall / 1000000000);
			struct tm tm;
			char when[64];
			if (wall > 0 && gmtime_r(&secs, &tm) &&
			    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
				     &tm))
				printf(", %s.%03d UTC", when,
				       (int)(wall % 1000000000 / 1000000));
		}
		putchar('\n');
	} else {
		printf("unknown\n");
	}
	show_what(c);
	if (c->has_reason) {
		printf("  reason:     \"");
		put_clean(c->reason, -1);
		printf("\"\n");
	}
	printf("  fault addr: ");
	if (c->has_fault)
		printf("0x%016" PRIx64 "\n", c->fault);
	else
		printf("-\n");
	if (c->has_vcpu || c->has_tid) {
		printf("  context:   ");
		if (c->has_vcpu)
			printf(" vCPU %lld", (long long)c->vcpu);
		if (c->has_tid && c->tid)
			printf(" thread %lld", (long long)c->tid);
		putchar('\n');
	}
}

static void show_registers(const struct crash *c)
{
	printf("\nregisters:\n");
	if (c->rec_ok) {
		char text[UT_CRASH_NREGS * 32];
		ut_crash_regs_text(c->rec.regs, text, sizeof(text));
		/* "name=0x..." words, 4 per line, aligned */
		int k = 0;
		for (char *w = strtok(text, " "); w; w = strtok(NULL, " ")) {
			char *eq = strchr(w, '=');
			if (!eq)
				continue;
			*eq = 0;
			printf("%s%8s 0x%016llx", k % 4 ? "  " : "  ", w,
			       strtoull(eq + 1, NULL, 16));
			if (++k % 4 == 0)
				putchar('\n');
		}
		if (k % 4)
			putchar('\n');
	} else if (c->registers) {
		printf("  ");
		put_clean(c->registers, -1);
		putchar('\n');
	} else {
		printf("  (not recorded)\n");
	}
}

/* Print the frames of (method) from crash_frames; returns how many. */
static int show_frames(sqlite3 *db, int64_t id, const char *method)
{
	sqlite3_stmt *s;
	int n = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT idx, pc, function, offset, file, line, "
			       "module FROM crash_frames WHERE crash_id = ?1 "
			       "AND method = ?2 ORDER BY idx",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		ut_frame_t f;
		char line[800];
		memset(&f, 0, sizeof(f));
		f.pc = (uint64_t)sqlite3_column_int64(s, 1);
		copy_col(s, 2, f.function, sizeof(f.function));
		f.offset = (uint64_t)sqlite3_column_int64(s, 3);
		copy_col(s, 4, f.file, sizeof(f.file));
		f.line = sqlite3_column_int(s, 5);
		copy_col(s, 6, f.module, sizeof(f.module));
		ut_bt_format_frame(&f, (uint32_t)sqlite3_column_int(s, 0), line,
				   sizeof(line));
		printf("  %s\n", line);
		n++;
	}
	sqlite3_finalize(s);
	return n;
}

static void show_backtrace(sqlite3 *db, const struct crash *c, bool ext)
{
	printf("\nbacktrace");
	if (c->bt_method) {
		printf(" (");
		put_clean(c->bt_method, -1);
		putchar(')');
	}
	printf(":\n");
	int n = 0;
	if (ext && c->bt_method)
		n = show_frames(db, c->id, c->bt_method);
	if (n <= 0 && c->backtrace) {
		/* the stored text, line by line */
		const char *p = c->backtrace;
		while (*p) {
			size_t l = strcspn(p, "\n");
			printf("  ");
			put_clean(p, (int)l);
			putchar('\n');
			p += l + (p[l] == '\n');
		}
		n = 1;
	} else if (n > 0 && c->backtrace) {
		/* the stop reason ends the stored text: "(fp: ...)" */
		const char *last = strrchr(c->backtrace, '(');
		if (last && (last == c->backtrace || last[-1] == '\n')) {
			printf("  ");
			put_clean(last, (int)strcspn(last, "\n"));
			putchar('\n');
		}
	}
	if (n <= 0)
		printf("  (none stored)\n");
	if (!ext)
		return;
	/* the other unwinders' results, for comparison */
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db,
			       "SELECT method, count(*), count(function) FROM "
			       "crash_frames WHERE crash_id = ?1 AND method IS "
			       "NOT ?2 GROUP BY method ORDER BY method",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, c->id);
	if (c->bt_method)
		sqlite3_bind_text(s, 2, c->bt_method, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	while (sqlite3_step(s) == SQLITE_ROW) {
		printf("  also stored: ");
		put_clean(col_text(s, 0), -1);
		printf(", %d frames, %d with a symbol (sqlite3: SELECT * FROM "
		       "crash_frames WHERE crash_id = %lld)\n",
		       sqlite3_column_int(s, 1), sqlite3_column_int(s, 2),
		       (long long)c->id);
	}
	sqlite3_finalize(s);
}

/* ---- last events --------------------------------------------------------- */

/* One field value (column c of s) as text, per the field's type. */
static void put_value(sqlite3_stmt *s, int c, const char *type, bool hex)
{
	switch (sqlite3_column_type(s, c)) {
	case SQLITE_NULL:
		fputs("-", stdout);
		break;
	case SQLITE_INTEGER: {
		int64_t v = sqlite3_column_int64(s, c);
		bool u = type && type[0] == 'u';
		if (hex)
			printf("0x%llx", (unsigned long long)v);
		else if (u)
			printf("%llu", (unsigned long long)v);
		else
			printf("%lld", (long long)v);
		break;
	}
	case SQLITE_FLOAT:
		printf("%.6g", sqlite3_column_double(s, c));
		break;
	case SQLITE_TEXT: {
		int n = sqlite3_column_bytes(s, c);
		putchar('"');
		put_clean(col_text(s, c), n > 60 ? 60 : n);
		printf("%s\"", n > 60 ? "..." : "");
		break;
	}
	default: {
		const unsigned char *b = sqlite3_column_blob(s, c);
		int n = sqlite3_column_bytes(s, c);
		printf("x'");
		for (int i = 0; b && i < n && i < 32; i++)
			printf("%02x", b[i]);
		printf("%s'", n > 32 ? "..." : "");
		break;
	}
	}
}

/* Rowids of the last (max) events of (lane) at or before (ts), newest
 * first, through the event_blocks index.  Returns how many, or -1. */
static int last_rowids(sqlite3 *db, int64_t lane, int64_t ts, int max,
		       int64_t *ids)
{
	sqlite3_stmt *b, *e;
	int n = 0, blocks = 0, rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT row_first, row_last FROM event_blocks "
			       "WHERE lane = ?1 AND ts_first <= ?2 "
			       "ORDER BY ts_first DESC",
			       -1, &b, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "SELECT id FROM events WHERE id BETWEEN ?1 AND "
			       "?2 AND ts <= ?3 ORDER BY ts DESC, id DESC "
			       "LIMIT ?4",
			       -1, &e, NULL) != SQLITE_OK) {
		sqlite3_finalize(b);
		return -1;
	}
	sqlite3_bind_int64(b, 1, lane);
	sqlite3_bind_int64(b, 2, ts);
	/* Blocks of one lane follow each other in time; a few more than
	 * needed cover events whose clock stepped back a little. */
	while (n < max && (rc = sqlite3_step(b)) == SQLITE_ROW && blocks++ < 64) {
		sqlite3_bind_int64(e, 1, sqlite3_column_int64(b, 0));
		sqlite3_bind_int64(e, 2, sqlite3_column_int64(b, 1));
		sqlite3_bind_int64(e, 3, ts);
		sqlite3_bind_int(e, 4, max - n);
		while (n < max && sqlite3_step(e) == SQLITE_ROW)
			ids[n++] = sqlite3_column_int64(e, 0);
		sqlite3_reset(e);
	}
	sqlite3_finalize(b);
	sqlite3_finalize(e);
	return n;
}

static int show_event(sqlite3 *db, int64_t rowid, const struct crash *c,
		      bool has_ts)
{
	sqlite3_stmt *s, *f;

	if (sqlite3_prepare_v2(db,
			       "SELECT e.ts, e.seq, e.dur, t.name, t.kind, "
			       "e.type, e.a0, e.a1, e.a2, e.a3, e.a4, e.a5, "
			       "e.a6, e.a7 FROM events e LEFT JOIN event_types "
			       "t ON t.id = e.type WHERE e.id = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, rowid);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return -1;
	}
	char ts[48], rel[48] = "";
	int64_t t = sqlite3_column_int64(s, 0);
	ut_fmt_ts(ts, sizeof(ts), t);
	if (has_ts)
		ut_fmt_dur(rel, sizeof(rel), (double)t - (double)c->ts);
	printf("    %s  %10s  #%-6lld ", ts, rel,
	       (long long)sqlite3_column_int64(s, 1));
	const char *name = col_text(s, 3);
	put_clean(name ? name : "?", -1);
	const char *kind = col_text(s, 4);
	if (kind && strcmp(kind, "instant")) {
		printf(" [");
		put_clean(kind, -1);
		putchar(']');
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT idx, name, type, hex FROM event_fields "
			       "WHERE type_id = ?1 ORDER BY idx",
			       -1, &f, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(f, 1, sqlite3_column_int64(s, 5));
		while (sqlite3_step(f) == SQLITE_ROW) {
			int idx = sqlite3_column_int(f, 0);
			if (idx < 0 || idx > 7)
				continue;
			putchar(' ');
			put_clean(col_text(f, 1), -1);
			putchar('=');
			put_value(s, 6 + idx, col_text(f, 2),
				  sqlite3_column_int(f, 3) != 0);
		}
		sqlite3_finalize(f);
	}
	if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
		char d[48];
		ut_fmt_dur(d, sizeof(d), (double)sqlite3_column_int64(s, 2));
		printf(" dur=%s", d);
	}
	putchar('\n');
	sqlite3_finalize(s);
	return 0;
}

static int show_last_events(sqlite3 *db, const struct crash *c, int per_lane)
{
	sqlite3_stmt *s;
	int64_t *ids;
	int rc, lanes = 0;

	if (per_lane <= 0)
		return 0;
	ids = calloc((size_t)per_lane, sizeof(*ids));
	if (!ids)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "SELECT id, vcpu, event_count FROM lanes WHERE "
			       "guest_id = ?1 ORDER BY vcpu",
			       -1, &s, NULL) != SQLITE_OK) {
		free(ids);
		return -1;
	}
	sqlite3_bind_int64(s, 1, c->guest);
	printf("\nlast events before the crash%s (time, time relative to "
	       "the crash, sequence number, event, fields):\n",
	       c->has_ts ? "" : " (crash time unknown: the last events)");
	int64_t until = c->has_ts ? c->ts : INT64_MAX;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t lane = sqlite3_column_int64(s, 0);
		int64_t vcpu = sqlite3_column_int64(s, 1);
		lanes++;
		printf("  vCPU %lld%s:\n", (long long)vcpu,
		       c->has_vcpu && c->vcpu == vcpu ? " (crashed here)" : "");
		int n = last_rowids(db, lane, until, per_lane, ids);
		if (n < 0) {
			rc = SQLITE_ERROR;
			break;
		}
		if (!n)
			printf("    (no events)\n");
		for (int i = n - 1; i >= 0; i--)
			if (show_event(db, ids[i], c, c->has_ts)) {
				rc = SQLITE_ERROR;
				break;
			}
		if (rc == SQLITE_ERROR)
			break;
	}
	if (rc == SQLITE_DONE && !lanes)
		printf("  (the guest has no lanes: no events were stored)\n");
	sqlite3_finalize(s);
	free(ids);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- the core ------------------------------------------------------------ */

/* Returns 0 if the core is fine or none was recorded, 1 if it is missing
 * or damaged. */
static int show_core(const struct crash *c)
{
	int bad = 0;

	printf("\ncore file: ");
	if (!c->core_path) {
		printf("none");
		if (c->note) {
			printf(" (");
			put_clean(c->note, -1);
			putchar(')');
		}
		putchar('\n');
		return 0;
	}
	put_clean(c->core_path, -1);
	putchar('\n');
	if (c->note) {
		printf("  note: ");
		put_clean(c->note, -1);
		putchar('\n');
	}
	ut_core_info_t info;
	char err[512], a[32], b[32], m[32];
	struct stat sb;
	if (stat(c->core_path, &sb)) {
		printf("  MISSING: %s (deleted or moved since the crash?)\n",
		       strerror(errno));
		ut_error(CMD, "core file %s of crash %lld: %s", c->core_path,
			 (long long)c->id, strerror(errno));
		return 1;
	}
	if (ut_core_check(c->core_path, &info, err, sizeof(err))) {
		printf("  DAMAGED: ");
		put_clean(err, -1);
		putchar('\n');
		ut_error(CMD, "%s", err);
		bad = 1;
	} else {
		fmt_bytes(m, sizeof(m), info.mem_bytes);
		/* whole as a file, but the capture says memory is missing */
		bool lacks = c->note && strstr(c->note, UT_CORE_INCOMPLETE);
		printf("  %s ELF core: %u thread%s, %u memory segments, "
		       "%s of guest memory%s\n",
		       lacks ? "INCOMPLETE" : "complete", info.nthreads, info.nthreads == 1 ? "" : "s",
		       info.nloads, m, lacks ? " (some of it unreadable "
		       "when captured: see the note)" : "");
		if (c->rec_ok && info.has_crash &&
		    memcmp(&info.crash, &c->rec, offsetof(struct ut_crash_rec,
							  ring_head))) {
			printf("  WARNING: its crash note differs from this "
			       "crash: it is the core of another crash\n");
			ut_error(CMD, "core file %s is not the core of crash "
				      "%lld",
				 c->core_path, (long long)c->id);
			bad = 1;
		}
	}
	fmt_bytes(a, sizeof(a), (uint64_t)sb.st_size);
	fmt_bytes(b, sizeof(b), (uint64_t)sb.st_blocks * 512u);
	printf("  size %s, %s on disk (sparse: untouched memory takes no "
	       "space)\n",
	       a, b);
	if (bad)
		return 1;
	printf("\nopen it with:\n  gdb ");
	if (c->elf_path)
		put_shell_word(c->elf_path);
	else
		printf("PROGRAM");
	putchar(' ');
	put_shell_word(c->core_path);
	putchar('\n');
	if (!c->elf_path) {
		printf("  (PROGRAM: the guest's ELF file");
		if (c->build_id[0]) {
			printf(", build id ");
			put_clean(c->build_id, -1);
		}
		printf(")\n");
	} else {
		struct stat eb;
		if (stat(c->elf_path, &eb))
			printf("  (the program %s: %s)\n",
			       strerror(errno), "it was moved or rebuilt?");
	}
	return 0;
}

/* ---- the command ------------------------------------------------------------- */

static int show_crash(sqlite3 *db, const char *path, int64_t id, bool ext,
		      int per_lane)
{
	struct crash c;
	int rc = crash_load(db, id, ext, &c);

	if (rc == 1) {
		sqlite3_stmt *s;
		long long n = 0, lo = 0, hi = 0;
		if (sqlite3_prepare_v2(db,
				       "SELECT count(*), min(id), max(id) FROM "
				       "crashes",
				       -1, &s, NULL) == SQLITE_OK) {
			if (sqlite3_step(s) == SQLITE_ROW) {
				n = sqlite3_column_int64(s, 0);
				lo = sqlite3_column_int64(s, 1);
				hi = sqlite3_column_int64(s, 2);
			}
			sqlite3_finalize(s);
		}
		if (n)
			ut_error(CMD, "no crash %lld in %s (it has %lld "
				      "crash%s, ids %lld to %lld; see 'unitrace "
				      "crash %s')",
				 (long long)id, path, n, n == 1 ? "" : "es", lo,
				 hi, path);
		else
			ut_error(CMD, "no crash %lld in %s: it has no crashes",
				 (long long)id, path);
		return 1;
	}
	if (rc < 0)
		return -1;
	show_header(&c);
	show_registers(&c);
	show_backtrace(db, &c, ext);
	if (show_last_events(db, &c, per_lane)) {
		crash_free(&c);
		return -1;
	}
	rc = show_core(&c);
	crash_free(&c);
	return rc;
}

static int crash_run(int argc, char **argv)
{
	const char *path = NULL, *ids = NULL;
	bool opts = true;
	long per_lane = 10;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && !strcmp(a, "-n")) {
			char *end;
			if (i + 1 >= argc) {
				ut_error(CMD, "-n needs a number");
				return 2;
			}
			errno = 0;
			per_lane = strtol(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || per_lane < 0 ||
			    per_lane > 100000) {
				ut_error(CMD, "-n '%s': give a number of "
					      "events from 0 to 100000",
					 argv[i]);
				return 2;
			}
		} else if (opts && a[0] == '-' && a[1]) {
			ut_error(CMD, "unknown option '%s'; see 'unitrace "
				      "crash --help'",
				 a);
			return 2;
		} else if (!path) {
			path = a;
		} else if (!ids) {
			ids = a;
		} else {
			ut_error(CMD, "unexpected argument '%s'; see 'unitrace "
				      "crash --help'",
				 a);
			return 2;
		}
	}
	if (!path) {
		ut_error(CMD, "no database given; usage: unitrace crash [-n N] "
			      "DB [ID]");
		return 2;
	}
	int64_t id = 0;
	if (ids) {
		char *end;
		errno = 0;
		long long v = strtoll(ids, &end, 10);
		if (errno || *end || end == ids || v <= 0 || ids[0] == '+') {
			ut_error(CMD, "crash id '%s' is not a positive number "
				      "(see the ID column of 'unitrace crash "
				      "%s')",
				 ids, path);
			return 2;
		}
		id = v;
	}
	ut_tracedb_t *tdb = ut_tracedb_open_cmd(CMD, path);
	if (!tdb)
		return 1;
	sqlite3 *db = ut_tracedb_sqlite(tdb);
	int rc, ext = has_crash_details(db);
	if (ext < 0)
		rc = -1;
	else if (!ids)
		rc = list_crashes(db, path, ext);
	else
		rc = show_crash(db, path, id, ext, (int)per_lane);
	if (rc < 0)
		ut_error(CMD, "reading %s: %s", path, sqlite3_errmsg(db));
	fflush(stdout);
	ut_tracedb_close(tdb);
	return rc ? 1 : 0;
}

const struct ut_cmd ut_cmd_crash = {
	.name = "crash",
	.summary = "show the crashes of a trace: backtrace, last events, core",
	.usage = crash_usage,
	.run = crash_run,
};
