/*
 * crashes.c: crash rows: crashes (one per crash, with the raw record and
 * the registers as text) and crash_frames (one row per backtrace frame and
 * method).
 *
 * Rule: everything in a crash record is guest-written: text fields are
 * NUL-padded and maybe unterminated, so they are bound with their bounded
 * length (strnlen), never as C strings; the record is validated by the
 * caller (crash/) and stored as it came.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "backtrace.h"
#include "collector.h"
#include "store_int.h"

/* ---- registers and kinds as text ------------------------------------------------------ */

static const char *const reg_names[UT_CRASH_NREGS] = {
	[UT_X86_R15] = "r15",	  [UT_X86_R14] = "r14",
	[UT_X86_R13] = "r13",	  [UT_X86_R12] = "r12",
	[UT_X86_RBP] = "rbp",	  [UT_X86_RBX] = "rbx",
	[UT_X86_R11] = "r11",	  [UT_X86_R10] = "r10",
	[UT_X86_R9] = "r9",	  [UT_X86_R8] = "r8",
	[UT_X86_RAX] = "rax",	  [UT_X86_RCX] = "rcx",
	[UT_X86_RDX] = "rdx",	  [UT_X86_RSI] = "rsi",
	[UT_X86_RDI] = "rdi",	  [UT_X86_ORIG_RAX] = "orig_rax",
	[UT_X86_RIP] = "rip",	  [UT_X86_CS] = "cs",
	[UT_X86_EFLAGS] = "eflags", [UT_X86_RSP] = "rsp",
	[UT_X86_SS] = "ss",	  [UT_X86_FS_BASE] = "fs_base",
	[UT_X86_GS_BASE] = "gs_base", [UT_X86_DS] = "ds",
	[UT_X86_ES] = "es",	  [UT_X86_FS] = "fs",
	[UT_X86_GS] = "gs",
};

/* Display order: what one reads first. */
static const uint8_t reg_order[UT_CRASH_NREGS] = {
	UT_X86_RIP, UT_X86_RSP, UT_X86_RBP, UT_X86_EFLAGS, UT_X86_RAX,
	UT_X86_RBX, UT_X86_RCX, UT_X86_RDX, UT_X86_RSI, UT_X86_RDI,
	UT_X86_R8, UT_X86_R9, UT_X86_R10, UT_X86_R11, UT_X86_R12, UT_X86_R13,
	UT_X86_R14, UT_X86_R15, UT_X86_ORIG_RAX, UT_X86_CS, UT_X86_SS,
	UT_X86_DS, UT_X86_ES, UT_X86_FS, UT_X86_GS, UT_X86_FS_BASE,
	UT_X86_GS_BASE,
};

void ut_crash_regs_text(const uint64_t regs[UT_CRASH_NREGS], char *buf,
			size_t len)
{
	size_t n = 0;

	if (!len)
		return;
	buf[0] = 0;
	for (unsigned i = 0; i < UT_CRASH_NREGS && n < len; i++) {
		unsigned r = reg_order[i];
		n += (size_t)snprintf(buf + n, len - n, "%s%s=0x%llx",
				      i ? " " : "", reg_names[r],
				      (unsigned long long)regs[r]);
	}
}

const char *ut_crash_kind_name(uint32_t kind)
{
	switch (kind) {
	case UT_CRASH_SIGNAL:
		return "signal";
	case UT_CRASH_PANIC:
		return "panic";
	case UT_CRASH_TRAP:
		return "trap";
	default:
		return "unknown";
	}
}

/* Bind guest text (v) of at most (size) bytes, NUL-padded and maybe not
 * terminated: its bytes up to the first NUL, or NULL if there are none. */
static void bind_guest_text(sqlite3_stmt *s, int k, const char *v,
			    size_t size)
{
	size_t l = strnlen(v, size);

	if (l)
		sqlite3_bind_text(s, k, v, (int)l, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, k);
}

int64_t ut_store_crash(ut_store_t *st, int64_t guest,
		       const struct ut_crash_rec *rec, int64_t ts_ns,
		       const char *core_path, const char *elf_path)
{
	char regs[UT_CRASH_NREGS * 32];
	sqlite3_stmt *s;

	if (store_need_txn(st))
		return -1;
	if (!rec) {
		store_seterr(st, "no crash record");
		return -1;
	}
	if (!(s = store_stmt(st, S_CRASH_INS)))
		return -1;
	ut_crash_regs_text(rec->regs, regs, sizeof(regs));
	sqlite3_bind_int64(s, 1, guest);
	store_bind_opt_ts(s, 2, ts_ns);
	bind_guest_text(s, 3, rec->reason, sizeof(rec->reason));
	sqlite3_bind_int64(s, 4, rec->signo);
	sqlite3_bind_int64(s, 5, (int64_t)rec->fault_addr);
	sqlite3_bind_text(s, 6, regs, -1, SQLITE_TRANSIENT);
	store_bind_opt_text(s, 7, core_path, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 8, ut_crash_kind_name(rec->kind), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, rec->code);
	if (rec->vcpu == UINT32_MAX)
		sqlite3_bind_null(s, 10);
	else
		sqlite3_bind_int64(s, 10, rec->vcpu);
	sqlite3_bind_int64(s, 11, rec->tid);
	store_bind_opt_text(s, 12, elf_path, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 13, rec, sizeof(*rec), SQLITE_TRANSIENT);
	if (store_step_done(st, s, "storing a crash"))
		return -1;
	return sqlite3_last_insert_rowid(st->db);
}

int ut_store_crash_core(ut_store_t *st, int64_t crash, const char *core_path,
			const char *note)
{
	sqlite3_stmt *s;

	if (store_need_txn(st) || !(s = store_stmt(st, S_CRASH_CORE)))
		return -1;
	store_bind_opt_text(s, 1, core_path, SQLITE_TRANSIENT);
	store_bind_opt_text(s, 2, note, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, crash);
	if (store_step_done(st, s, "updating a crash"))
		return -1;
	return store_changed_one(st, "crash", crash);
}

/* pc, function, offset, file, line, module of (f) at parameters p..p+5 */
static void bind_frame(sqlite3_stmt *s, int p, const ut_frame_t *f)
{
	sqlite3_bind_int64(s, p, (int64_t)f->pc);
	bind_guest_text(s, p + 1, f->function, sizeof(f->function));
	if (f->function[0])
		sqlite3_bind_int64(s, p + 2, (int64_t)f->offset);
	else
		sqlite3_bind_null(s, p + 2);
	bind_guest_text(s, p + 3, f->file, sizeof(f->file));
	if (f->file[0])
		sqlite3_bind_int(s, p + 4, f->line);
	else
		sqlite3_bind_null(s, p + 4);
	bind_guest_text(s, p + 5, f->module, sizeof(f->module));
}

/* In a transaction, with a backtrace that fits UT_BT_MAX. */
static bool bt_writable(ut_store_t *st, const struct ut_backtrace *bt)
{
	if (store_need_txn(st))
		return false;
	if (!bt || bt->n > UT_BT_MAX) {
		store_seterr(st, "bad backtrace");
		return false;
	}
	return true;
}

int ut_store_crash_bt(ut_store_t *st, int64_t crash,
		      const struct ut_backtrace *bt, bool primary)
{
	const char *method;
	sqlite3_stmt *s;

	if (!bt_writable(st, bt))
		return -1;
	method = ut_bt_method_name(bt->method);
	if (!(s = store_stmt(st, S_FRAME_DEL)))
		return -1;
	sqlite3_bind_int64(s, 1, crash);
	sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
	if (store_step_done(st, s, "replacing a backtrace"))
		return -1;
	for (uint32_t i = 0; i < bt->n; i++) {
		if (!(s = store_stmt(st, S_FRAME_INS)))
			return -1;
		sqlite3_bind_int64(s, 1, crash);
		sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, i);
		bind_frame(s, 4, &bt->f[i]);
		if (store_step_done(st, s, "storing a backtrace frame"))
			return -1;
	}
	if (!primary)
		return 0;
	char *text = ut_bt_format(bt);
	if (!text)
		return store_oom(st);
	if (!(s = store_stmt(st, S_CRASH_BT))) {
		free(text);
		return -1;
	}
	sqlite3_bind_text(s, 1, text, -1, free);
	sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, crash);
	if (store_step_done(st, s, "storing a backtrace"))
		return -1;
	return store_changed_one(st, "crash", crash);
}

int ut_store_crash_thread(ut_store_t *st, int64_t crash, uint32_t tid,
			  const struct ut_backtrace *bt)
{
	sqlite3_stmt *s;

	if (!bt_writable(st, bt))
		return -1;
	if (!(s = store_stmt(st, S_THREAD_DEL)))
		return -1;
	sqlite3_bind_int64(s, 1, crash);
	sqlite3_bind_int64(s, 2, tid);
	if (store_step_done(st, s, "replacing a thread's stack"))
		return -1;
	for (uint32_t i = 0; i < bt->n; i++) {
		if (!(s = store_stmt(st, S_THREAD_INS)))
			return -1;
		sqlite3_bind_int64(s, 1, crash);
		sqlite3_bind_int64(s, 2, tid);
		sqlite3_bind_int64(s, 3, i);
		bind_frame(s, 4, &bt->f[i]);
		sqlite3_bind_text(s, 10, ut_bt_method_name(bt->method), -1,
				  SQLITE_STATIC);
		if (store_step_done(st, s, "storing a thread's stack"))
			return -1;
	}
	return 0;
}

int ut_store_crash_proc(ut_store_t *st, int64_t crash, const char *cmdline,
			int64_t uid)
{
	sqlite3_stmt *s;

	if (store_need_txn(st) || !(s = store_stmt(st, S_CRASH_PROC)))
		return -1;
	store_bind_opt_text(s, 1, cmdline && *cmdline ? cmdline : NULL,
			    SQLITE_TRANSIENT);
	if (uid >= 0)
		sqlite3_bind_int64(s, 2, uid);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_int64(s, 3, crash);
	if (store_step_done(st, s, "updating a crash"))
		return -1;
	return store_changed_one(st, "crash", crash);
}
