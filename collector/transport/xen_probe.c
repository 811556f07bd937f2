/*
 * The Makefile's Xen probe (collector/transport/xen_probe.sh): compiled
 * and linked with the project's flags against the Xen libraries that
 * pkg-config names; the Xen backend is built only if this succeeds.
 *
 * It makes every libxen call the backend makes (xen.c, xen_ctl.c,
 * crash/xen_dump.c), with the argument types the backend passes, and uses
 * every Xen type and constant it uses, so that a Xen whose API moved (as
 * 4.18 removed xc_domain_getinfo and xc_dominfo_t) turns the backend off
 * with the compiler's reason instead of failing the whole build.  Keep it
 * in step with those files: tests/e2e/xen_api.sh fails when they call a
 * libxen function that this file does not.
 *
 * Never run: the calls sit behind an argument count no one passes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <xenctrl.h> /* first: the others' Xen headers need its setup */
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xen/hvm/save.h>
#include <libxenvchan.h>

#if defined(__STRICT_ANSI__)
#error "the Xen tools headers need GNU C (-std=gnu11)"
#endif

/* The logger callbacks, with the types xentoollog.h gives them. */
static void vmessage(struct xentoollog_logger *l, xentoollog_level level,
		     int errnoval, const char *context, const char *format,
		     va_list al)
{
	(void)l, (void)errnoval, (void)context, (void)format, (void)al;
	(void)(level < XTL_WARN);
}

static void progress(struct xentoollog_logger *l, const char *context,
		     const char *doing_what, int percent, unsigned long done,
		     unsigned long total)
{
	(void)l, (void)context, (void)doing_what, (void)percent, (void)done,
		(void)total;
}

static void destroy(struct xentoollog_logger *l)
{
	(void)l;
}

static int uses(void)
{
	struct xentoollog_logger log = {vmessage, progress, destroy};
	unsigned int len = 0;
	uint32_t refs[1] = {0}, domid = 1;
	int errs[1], r = 0;

	/* xen.c: control, domain state */
	xc_interface *xch = xc_interface_open(&log, &log, 0);
	xc_domaininfo_t info;
	r += xc_domain_getinfolist(xch, domid, 1, &info);
	r += info.domain == domid;
	r += !!(info.flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown |
			      XEN_DOMINF_hvm_guest));
	r += (int)info.max_vcpu_id;
	r += (int)((info.flags >> XEN_DOMINF_shutdownshift) &
		   XEN_DOMINF_shutdownmask);
	r += SHUTDOWN_poweroff + SHUTDOWN_reboot + SHUTDOWN_suspend +
	     SHUTDOWN_crash + SHUTDOWN_watchdog + SHUTDOWN_soft_reset;
	r += xc_domain_destroy(xch, domid);

	/* xen.c, xen_ctl.c: xenstore */
	struct xs_handle *xs = xs_open(0);
	bool ok = xs_watch(xs, "@introduceDomain", "t") &&
		  xs_unwatch(xs, "@releaseDomain", "t");
	char *v = xs_read(xs, XBT_NULL, "domid", &len);
	char **ents = xs_directory(xs, XBT_NULL, "/local/domain", &len);
	char **w = xs_check_watch(xs);
	r += ok + xs_fileno(xs);
	free(v), free(ents), free(w);
	xs_close(xs);

	/* xen.c: grants */
	xengnttab_handle *xgt = xengnttab_open(&log, 0);
	void *p = xengnttab_map_domain_grant_refs(xgt, 1, domid, refs,
						  PROT_READ | PROT_WRITE);
	r += xengnttab_unmap(xgt, p, 1);
	r += xengnttab_close(xgt);

	/* xen.c: event channels */
	xenevtchn_handle *xce = xenevtchn_open(&log, 0);
	xenevtchn_port_or_error_t port =
		xenevtchn_bind_interdomain(xce, domid, 3);
	r += xenevtchn_fd(xce);
	port = xenevtchn_pending(xce);
	r += xenevtchn_unmask(xce, (evtchn_port_t)port);
	r += xenevtchn_notify(xce, (evtchn_port_t)port);
	r += xenevtchn_unbind(xce, (evtchn_port_t)port);
	r += xenevtchn_close(xce);

	/* crash/xen_dump.c: registers, memory, pause */
	xenforeignmemory_handle *fmem = xenforeignmemory_open(&log, 0);
	struct hvm_hw_cpu cpu;
	vcpu_guest_context_any_t any;
	xc_vcpuinfo_t vi;
	xen_pfn_t max = 0, pfns[1] = {0};
	r += xc_domain_hvm_getcontext_partial(xch, domid, HVM_SAVE_CODE(CPU),
					      0, &cpu, sizeof(cpu));
	r += xc_vcpu_getcontext(xch, domid, 0, &any);
	r += (int)any.c.user_regs.rip + (int)cpu.rip;
	r += xc_vcpu_getinfo(xch, domid, 0, &vi) + vi.online;
	r += xc_domain_maximum_gpfn(xch, domid, &max);
	p = xenforeignmemory_map(fmem, domid, PROT_READ, 1, pfns, errs);
	r += xenforeignmemory_unmap(fmem, p, 1);
	r += xc_domain_pause(xch, domid) + xc_domain_unpause(xch, domid);
	r += xenforeignmemory_close(fmem);
	r += xc_interface_close(xch);

	/* xen_ctl.c: the control channel */
	struct libxenvchan *vc = libxenvchan_client_init(NULL, (int)domid, "p");
	char buf[8];
	r += libxenvchan_fd_for_select(vc);
	r += libxenvchan_wait(vc);
	r += libxenvchan_is_open(vc);
	r += libxenvchan_write(vc, buf, sizeof(buf));
	r += libxenvchan_read(vc, buf, sizeof(buf));
	libxenvchan_close(vc);
	return r;
}

int main(int argc, char **argv)
{
	(void)argv;
	return argc == 12345 ? uses() : 0;
}
