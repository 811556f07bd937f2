/* A PVH guest of a few instructions: prints a line on port 0xE9 (Xen's
 * debug console, shown by `xl dmesg` with guest_loglvl=all), then asks Xen
 * to crash it (sched_op SCHEDOP_shutdown, SHUTDOWN_crash). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18			/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start

	.text
	.code32
	.globl _start
_start:
	mov $stack_top, %esp
	mov $msg, %esi
	mov $0xe9, %dx
1:	lodsb
	test %al, %al
	jz 2f
	outb %al, %dx
	jmp 1b
2:	mov $0x40000000, %eax		/* Xen's CPUID leaves: hypercall page MSR */
	cpuid
	mov $0x40000002, %eax
	cpuid
	mov %ebx, %ecx
	mov $hypercall_page, %eax
	xor %edx, %edx
	wrmsr
	mov $2, %ebx			/* SCHEDOP_shutdown */
	mov $reason, %ecx
	call hypercall_page + 29 * 32	/* __HYPERVISOR_sched_op */
3:	hlt
	jmp 3b

	.data
msg:	.asciz "pvh-stub: alive, crashing\n"
	.balign 4
reason:	.long 3				/* SHUTDOWN_crash */

	.bss
	.balign 4096
hypercall_page:
	.skip 4096
	.skip 4096
stack_top:
