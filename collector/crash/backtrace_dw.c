/*
 * backtrace_dw.c: symbolization with libdw/libelf, and libdw's CFI
 * unwinder on a core file or a live process (see backtrace.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <libelf.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backtrace.h"
#include "core.h" /* ut_open_regular */
#include "cli.h" /* ut_text_is_ctl */

/* ---- symbolization -------------------------------------------------------- */

struct ut_symtab {
	Dwfl *dwfl;
};

static char *debuginfo_path; /* NULL: libdw's default */

/*
 * Every file named by a guest (its mappings in /proc/PID/maps, a core's
 * NT_FILE, its executable) is opened by us with ut_open_regular, never by
 * libdw's own callbacks: those open() without O_NONBLOCK, and a guest that
 * deletes a mapped file and puts a FIFO at "PATH (deleted)" (or at the
 * debuglink names next to it) would block the collector in open().
 */

/* The process of the live-process callbacks below (libdw gives a
 * find_elf callback no way back to its Dwfl): set before each report. */
static _Thread_local int proc_pid;

static bool deleted_name(const char *name)
{
	static const char sfx[] = " (deleted)";
	size_t n = strlen(name);

	return n >= sizeof(sfx) - 1 &&
	       !strcmp(name + n - (sizeof(sfx) - 1), sfx);
}

/* (fd) of a regular file as the module's ELF; -1 if libelf refuses it. */
static int give_elf(int fd, const char *name, char **file_name, Elf **elfp)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);

	if (!elf) {
		close(fd);
		return -1;
	}
	*elfp = elf;
	*file_name = strdup(name);
	return fd;
}

/*
 * A live process's module: a regular file at its path, opened without
 * blocking; a deleted file (nothing regular at "PATH (deleted)") from the
 * process's memory, as libdw does for the vDSO; anything else refused (no
 * names for that module).
 */
static int find_elf_proc(Dwfl_Module *mod, void **userdata,
			 const char *modname, Dwarf_Addr base,
			 char **file_name, Elf **elfp)
{
	if (!modname || modname[0] != '/')
		return dwfl_linux_proc_find_elf(mod, userdata, modname, base,
						file_name, elfp);
	int fd = ut_open_regular(modname);
	if (fd >= 0)
		return give_elf(fd, modname, file_name, elfp);
	if (!deleted_name(modname) || proc_pid <= 0)
		return -1;
	char mem[32];
	snprintf(mem, sizeof(mem), "[vdso: %d]", proc_pid);
	return dwfl_linux_proc_find_elf(mod, userdata, mem, base, file_name,
					elfp);
}

/* Open (dir)(sub)/(name) if it is a regular file other than (main). */
static int try_debug(const char *dir, const char *sub, const char *name,
		     const struct stat *main, char **out)
{
	char path[PATH_MAX];
	struct stat sb;

	if (snprintf(path, sizeof(path), "%s%s/%s", dir, sub, name) >=
	    (int)sizeof(path))
		return -1;
	int fd = ut_open_regular(path);
	if (fd < 0)
		return -1;
	if (main && fstat(fd, &sb) == 0 && sb.st_dev == main->st_dev &&
	    sb.st_ino == main->st_ino) {
		close(fd);
		return -1;
	}
	if (!(*out = strdup(path))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Separate debug information: by build id under the system's debug
 * directories (libdw), else the module's debuglink in libdw's default
 * places (DIR, DIR/.debug, /usr/lib/debug/DIR), each opened without
 * blocking.  libdw checks the build id of what we return against the
 * module's.
 */
static int find_debuginfo_safe(Dwfl_Module *mod, void **userdata,
			       const char *modname, Dwarf_Addr base,
			       const char *file_name,
			       const char *debuglink_file,
			       GElf_Word debuglink_crc,
			       char **debuginfo_file_name)
{
	int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base,
					      file_name, debuglink_file,
					      debuglink_crc,
					      debuginfo_file_name);
	if (fd >= 0 || !file_name || file_name[0] != '/')
		return fd;
	char dir[PATH_MAX], name[NAME_MAX + 1];
	const char *slash = strrchr(file_name, '/');
	size_t dlen = (size_t)(slash - file_name);
	if (dlen >= sizeof(dir))
		return -1;
	memcpy(dir, file_name, dlen);
	dir[dlen] = 0;
	if (debuglink_file) {
		if (strchr(debuglink_file, '/') ||
		    snprintf(name, sizeof(name), "%s", debuglink_file) >=
			    (int)sizeof(name))
			return -1;
	} else if (snprintf(name, sizeof(name), "%s.debug", slash + 1) >=
		   (int)sizeof(name)) {
		return -1;
	}
	struct stat main_sb;
	const struct stat *main = stat(file_name, &main_sb) == 0 ? &main_sb
								 : NULL;
	char sysdir[PATH_MAX + 16];
	snprintf(sysdir, sizeof(sysdir), "/usr/lib/debug%s", dir);
	const char *const dirs[][2] = { { dir, "" }, { dir, "/.debug" },
					{ sysdir, "" } };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		fd = try_debug(dirs[i][0], dirs[i][1], name, main,
			       debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = find_elf_proc,
	.find_debuginfo = find_debuginfo_safe,
	.debuginfo_path = &debuginfo_path,
};

/*
 * For offline files and cores: by build id, and else by the module's own
 * file name provided its build id matches (a core's NT_FILE or link_map
 * names the files of the crashed process, on this same host).
 */
static int find_elf_core(Dwfl_Module *mod, void **userdata,
			 const char *modname, Dwarf_Addr base,
			 char **file_name, Elf **elfp)
{
	int fd = dwfl_build_id_find_elf(mod, userdata, modname, base,
					file_name, elfp);
	if (fd >= 0 || *elfp)
		return fd;
	if (!modname || modname[0] != '/')
		return -1;
	fd = ut_open_regular(modname);
	if (fd < 0)
		return -1;
	/* libdw checks the build id of what we return against the one in
	 * the core and rejects a mismatch. */
	return give_elf(fd, modname, file_name, elfp);
}

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = find_elf_core,
	.find_debuginfo = find_debuginfo_safe,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

static void copy_clean(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < len; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = ut_text_is_ctl(c) ? '?' : (char)c;
	}
	dst[i] = 0;
}

/* Symbolize (f) with (dwfl); (call_site): pc is a return address, look
 * up pc - 1 (the call instruction) instead. */
static bool sym_frame(Dwfl *dwfl, ut_frame_t *f, bool call_site)
{
	Dwarf_Addr a = call_site && f->pc ? f->pc - 1 : f->pc;
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, a);
	GElf_Off off = 0;
	GElf_Sym sym;

	if (!mod)
		return false;
	const char *mname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
					     NULL, NULL);
	copy_clean(f->module, sizeof(f->module), mname);
	const char *name = dwfl_module_addrinfo(mod, a, &off, &sym, NULL, NULL,
						NULL);
	if (name) {
		copy_clean(f->function, sizeof(f->function), name);
		f->offset = off + (f->pc - a);
	}
	Dwfl_Line *ln = dwfl_module_getsrc(mod, a);
	if (ln) {
		int line = 0;
		const char *file = dwfl_lineinfo(ln, NULL, &line, NULL, NULL,
						 NULL);
		if (file) {
			copy_clean(f->file, sizeof(f->file), file);
			f->line = line;
		}
	}
	return name != NULL;
}

static void sym_all(Dwfl *dwfl, ut_backtrace_t *bt, const bool *activation)
{
	bt->nsym = 0;
	for (uint32_t i = 0; i < bt->n; i++) {
		bool cs = activation ? !activation[i] : i > 0;
		bt->nsym += sym_frame(dwfl, &bt->f[i], cs);
	}
}

static void dwfl_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, dwfl_errmsg(-1));
}

ut_symtab_t *ut_symtab_pid(int pid, char *err, size_t errlen)
{
	ut_symtab_t *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->dwfl = dwfl_begin(&proc_callbacks);
	if (!s->dwfl) {
		dwfl_fail(err, errlen, "libdw");
		free(s);
		return NULL;
	}
	proc_pid = pid;
	int rc = dwfl_linux_proc_report(s->dwfl, pid);
	if (rc) {
		snprintf(err, errlen, "reading the modules of process %d: %s",
			 pid, rc > 0 ? strerror(rc) : dwfl_errmsg(-1));
		ut_symtab_free(s);
		return NULL;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	return s;
}

ut_symtab_t *ut_symtab_elf(const char *path, uint64_t bias, char *err,
			   size_t errlen)
{
	ut_symtab_t *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->dwfl = dwfl_begin(&offline_callbacks);
	if (!s->dwfl) {
		dwfl_fail(err, errlen, "libdw");
		free(s);
		return NULL;
	}
	dwfl_report_begin(s->dwfl);
	/* add_p_vaddr: the module sits at bias + its p_vaddr (for ET_EXEC
	 * the link addresses themselves with bias 0). */
	if (!dwfl_report_elf(s->dwfl, path, path, -1, bias, true)) {
		char what[320];
		snprintf(what, sizeof(what), "reading %s", path);
		dwfl_fail(err, errlen, what);
		ut_symtab_free(s);
		return NULL;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	return s;
}

void ut_symtab_free(ut_symtab_t *s)
{
	if (!s)
		return;
	dwfl_end(s->dwfl);
	free(s);
}

void ut_bt_symbolize(ut_symtab_t *s, ut_backtrace_t *bt)
{
	if (s && bt)
		sym_all(s->dwfl, bt, NULL);
}

/* ---- CFI unwinding ------------------------------------------------------------ */

struct unwind {
	ut_backtrace_t *bt;
	bool act[UT_BT_MAX];
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct unwind *u = arg;
	Dwarf_Addr pc;
	bool act;

	if (!dwfl_frame_pc(state, &pc, &act))
		return DWARF_CB_ABORT;
	u->act[u->bt->n] = act;
	ut_bt_add(u->bt, pc);
	if (u->bt->n >= UT_BT_MAX) {
		snprintf(u->bt->stop, sizeof(u->bt->stop),
			 "stopped after %d frames (the stack may be deeper)",
			 UT_BT_MAX);
		return DWARF_CB_ABORT;
	}
	if (!pc)
		return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

struct one_thread {
	pid_t tid;
	struct unwind *u;
	int rc, found;
};

static int thread_cb(Dwfl_Thread *thread, void *arg)
{
	struct one_thread *o = arg;

	if (o->found || dwfl_thread_tid(thread) != o->tid)
		return DWARF_CB_OK;
	o->found = 1;
	o->rc = dwfl_thread_getframes(thread, frame_cb, o->u);
	/* not DWARF_CB_ABORT: libdw then leaks the iteration's state */
	return DWARF_CB_OK;
}

/* Unwind (tid) of the attached (dwfl) into (bt).  A core is walked with
 * dwfl_getthreads (it reads only the core's notes), because libdw 0.188
 * leaks a little per call of dwfl_getthread_frames on a core; a live
 * process with dwfl_getthread_frames, which attaches that thread only. */
static int unwind(Dwfl *dwfl, uint32_t tid, bool core, ut_backtrace_t *bt,
		  char *err, size_t errlen)
{
	struct unwind u = { .bt = bt };
	int rc;

	if (core) {
		struct one_thread o = { .tid = (pid_t)tid, .u = &u };
		rc = dwfl_getthreads(dwfl, thread_cb, &o);
		if (o.found)
			rc = o.rc;
		else if (rc != -1)
			snprintf(bt->stop, sizeof(bt->stop),
				 "no thread %u in the core", tid);
	} else {
		rc = dwfl_getthread_frames(dwfl, (pid_t)tid, frame_cb, &u);
	}

	if (rc == -1 && !bt->stop[0])
		snprintf(bt->stop, sizeof(bt->stop), "%s", dwfl_errmsg(-1));
	else if (!bt->stop[0])
		snprintf(bt->stop, sizeof(bt->stop), "end of the call chain");
	/* a last frame at pc 0 is the end marker, not a frame */
	if (bt->n > 1 && !bt->f[bt->n - 1].pc)
		bt->n--;
	sym_all(dwfl, bt, u.act);
	if (!bt->n) {
		snprintf(err, errlen, "no frame for thread %u: %s", tid,
			 bt->stop);
		return -1;
	}
	return (int)bt->n;
}

/*
 * libdw opens the files named by a core's NT_FILE note itself
 * (dwfl_core_file_report, without O_NONBLOCK), and those names are the
 * guest's mappings.  In our private copy-on-write view of the core, every
 * name that is not a regular file now (a FIFO at "PATH (deleted)", a
 * device) becomes as many '/' (the root directory: opening it cannot
 * block, and it is no ELF).  A name swapped for a FIFO after this check is
 * the remaining window.
 */
static void core_defuse_ntfile(Elf *core)
{
	size_t size;
	char *img = elf_rawfile(core, &size);
	Elf64_Ehdr eh;

	if (!img || size < sizeof(eh))
		return;
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > size ||
	    (size - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
		return;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE || ph.p_offset > size ||
		    ph.p_filesz > size - ph.p_offset)
			continue;
		char *p = img + ph.p_offset, *end = p + ph.p_filesz;
		while ((size_t)(end - p) >= sizeof(Elf64_Nhdr)) {
			Elf64_Nhdr nh;
			memcpy(&nh, p, sizeof(nh));
			size_t nsz = (nh.n_namesz + 3u) & ~3u;
			size_t dsz = (nh.n_descsz + 3ull) & ~3ull;
			char *desc = p + sizeof(nh) + nsz;
			if (nsz > (size_t)(end - p) - sizeof(nh) ||
			    nh.n_descsz > (size_t)(end - desc))
				break;
			if (nh.n_type == NT_FILE && nh.n_descsz >= 16) {
				uint64_t count;
				memcpy(&count, desc, 8);
				if (count <= (nh.n_descsz - 16) / 24) {
					char *name = desc + 16 + count * 24;
					char *dend = desc + nh.n_descsz;
					for (uint64_t k = 0; k < count && name < dend; k++) {
						size_t l = strnlen(name, (size_t)(dend - name));
						if (l == (size_t)(dend - name))
							break; /* unterminated */
						int fd = ut_open_regular(name);
						if (fd >= 0)
							close(fd);
						else
							memset(name, '/', l);
						name += l + 1;
					}
				}
			}
			if (dsz > (size_t)(end - desc))
				break;
			p = desc + dsz;
		}
	}
}

/* A libdwfl session over (core_path) (with its modules reported; exe may
 * be NULL), in *dwfl, *core and *fd for core_close.  0, or -1 with the
 * reason in (err) (what was opened is then closed). */
static int core_open(const char *core_path, const char *exe, Dwfl **dwfl,
		     Elf **core, int *fd, char *err, size_t errlen)
{
	*dwfl = NULL;
	*core = NULL;
	elf_version(EV_CURRENT);
	*fd = ut_open_regular(core_path);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", core_path,
			 strerror(errno));
		return -1;
	}
	*core = elf_begin(*fd, ELF_C_READ_MMAP_PRIVATE, NULL);
	if (!*core || elf_kind(*core) != ELF_K_ELF) {
		snprintf(err, errlen, "%s is not an ELF file", core_path);
		goto fail;
	}
	core_defuse_ntfile(*core);
	/* libdw opens the executable by this name itself, too. */
	int xfd = exe ? ut_open_regular(exe) : -1;
	if (xfd >= 0)
		close(xfd);
	else
		exe = NULL;
	*dwfl = dwfl_begin(&offline_callbacks);
	if (!*dwfl) {
		dwfl_fail(err, errlen, "libdw");
		goto fail;
	}
	dwfl_report_begin(*dwfl);
	if (dwfl_core_file_report(*dwfl, *core, exe) < 0) {
		dwfl_fail(err, errlen, "reading the core's modules");
		goto fail;
	}
	dwfl_report_end(*dwfl, NULL, NULL);
	return 0;
fail:
	dwfl_end(*dwfl);
	if (*core)
		elf_end(*core);
	close(*fd);
	*dwfl = NULL;
	*core = NULL;
	*fd = -1;
	return -1;
}

static void core_close(Dwfl *dwfl, Elf *core, int fd)
{
	dwfl_end(dwfl);
	if (core)
		elf_end(core);
	if (fd >= 0)
		close(fd);
}

int ut_bt_cfi_core(const char *core_path, const char *exe, uint32_t tid,
		   ut_backtrace_t *bt, char *err, size_t errlen)
{
	Dwfl *dwfl;
	Elf *core;
	int fd, rc = -1;

	ut_bt_init(bt, UT_BT_CFI_CORE);
	if (core_open(core_path, exe, &dwfl, &core, &fd, err, errlen))
		return -1;
	if (dwfl_core_file_attach(dwfl, core) < 0)
		dwfl_fail(err, errlen, "reading the core's threads");
	else
		rc = unwind(dwfl, tid, true, bt, err, errlen);
	core_close(dwfl, core, fd);
	return rc;
}

struct mods {
	ut_module_t *out;
	int max, n;
};

static int one_module(Dwfl_Module *m, void **user, const char *name,
		      Dwarf_Addr start, void *arg)
{
	struct mods *ms = arg;
	const unsigned char *bits;
	GElf_Addr vaddr;
	Dwarf_Addr end;
	int len;

	(void)user;
	if (ms->n >= ms->max)
		return DWARF_CB_ABORT;
	ut_module_t *o = &ms->out[ms->n++];
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", name ? name : "?");
	dwfl_module_info(m, NULL, NULL, &end, NULL, NULL, NULL, NULL);
	o->start = start;
	o->end = end;
	len = dwfl_module_build_id(m, &bits, &vaddr);
	for (int i = 0; i < len && i < (int)UT_BUILD_ID_MAX; i++)
		snprintf(o->build_id + 2 * i, 3, "%02x", bits[i]);
	return DWARF_CB_OK;
}

static int module_cmp(const void *a, const void *b)
{
	const ut_module_t *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int ut_core_modules(const char *core_path, const char *exe, ut_module_t *out,
		    int max, char *err, size_t errlen)
{
	struct mods ms = {out, max, 0};
	Dwfl *dwfl;
	Elf *core;
	int fd;

	if (core_open(core_path, exe, &dwfl, &core, &fd, err, errlen))
		return -1;
	dwfl_getmodules(dwfl, one_module, &ms, 0);
	core_close(dwfl, core, fd);
	qsort(out, (size_t)ms.n, sizeof(*out), module_cmp);
	return ms.n;
}

int ut_bt_cfi_pid(int pid, uint32_t tid, ut_backtrace_t *bt, char *err,
		  size_t errlen)
{
	int rc = -1, e;

	ut_bt_init(bt, UT_BT_CFI_PID);
	Dwfl *dwfl = dwfl_begin(&proc_callbacks);
	if (!dwfl) {
		dwfl_fail(err, errlen, "libdw");
		return -1;
	}
	proc_pid = pid;
	if ((e = dwfl_linux_proc_report(dwfl, pid)) != 0) {
		snprintf(err, errlen, "reading the modules of process %d: %s",
			 pid, e > 0 ? strerror(e) : dwfl_errmsg(-1));
		goto out;
	}
	dwfl_report_end(dwfl, NULL, NULL);
	/* assume_ptrace_stopped = false: libdw attaches each thread it
	 * walks (PTRACE_ATTACH, wait for the stop) and detaches it at
	 * dwfl_end() without a signal, or with SIGSTOP if it was stopped
	 * before: the guest resumes what it was doing. */
	if ((e = dwfl_linux_proc_attach(dwfl, pid, false)) != 0) {
		snprintf(err, errlen, "attaching to process %d: %s", pid,
			 e > 0 ? strerror(e) : dwfl_errmsg(-1));
		goto out;
	}
	rc = unwind(dwfl, tid, false, bt, err, errlen);
out:
	dwfl_end(dwfl);
	return rc;
}

