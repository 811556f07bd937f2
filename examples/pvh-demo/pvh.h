/*
 * pvh-demo: what the unikernel's pieces offer each other (xen.c: the
 * platform, lib.c: the few libc-like helpers, main.c: the workload).
 */
#ifndef PVH_DEMO_H
#define PVH_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hvm_start_info (PVH boot ABI), 56 bytes. */
#define HVM_START_MAGIC 0x336ec578u
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");
_Static_assert(offsetof(struct hvm_start_info, memmap_entries) == 48, "memmap");

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* 1: RAM */
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "memmap entry");

/* xen.c */
int platform_init(const struct hvm_start_info *si); /* 0 or -1 */
const char *platform_cmdline(void);
void console_write(const char *s, size_t n);
void console_puts(const char *s);
uint64_t now_ns(void);
/* Watch the xenstore (path) (relative to the domain's directory): 0 or -1.
 * xenstored fires the watch once at once, then whenever the node changes. */
int platform_xs_watch(const char *path);
/* Whether a watch has fired since the last call: reads the xenstore ring
 * without waiting and without a request (no work for dom0). */
bool platform_xs_watch_fired(void);
void platform_poweroff(void) __attribute__((noreturn));
void platform_crash(void) __attribute__((noreturn));

/* lib.c: the compiler may call the first four itself. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* A string being built in a fixed buffer; output is cut at the end. */
struct sbuf {
	char *p;
	size_t cap, len;
};
void sb_init(struct sbuf *b, char *buf, size_t cap);
void sb_str(struct sbuf *b, const char *s);
void sb_u64(struct sbuf *b, uint64_t v);
void sb_hex(struct sbuf *b, uint64_t v);

#endif /* PVH_DEMO_H */
