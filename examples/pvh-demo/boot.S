/*
 * pvh-demo boot: Xen enters at pvh_start32 in 32-bit protected mode, paging
 * off, ebx = physical address of hvm_start_info, no stack, GDT or IDT.
 * We build identity page tables for the first 4 GiB (2 MiB pages), switch
 * to long mode, turn SSE on and call pvh_main(start_info) on our stack.
 * Also: the PVH ELF note, and the 32 exception entry stubs of the IDT.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define BOOT_STACK_SIZE (64 * 1024)

	/* PVH entry note: name "Xen", type 18, desc = 32-bit entry address. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4                         /* namesz */
	.long 4                         /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY  /* type */
	.asciz "Xen"
	.long pvh_start32

	.section .text.boot, "ax", @progbits
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov %ebx, %edi                  /* hvm_start_info, kept in edi */
	lgdt gdt_ptr
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $boot_stack_top, %esp

	/* PML4[0] -> PDPT, PDPT[0..3] -> pd[0..3], 2048 PDEs of 2 MiB. */
	mov $pdpt, %eax
	or $0x3, %eax
	mov %eax, pml4
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $12, %eax
	add $pd, %eax
	or $0x3, %eax
	mov %eax, pdpt(,%ecx,8)
	inc %ecx
	cmp $4, %ecx
	jne 1b
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax                  /* present, writable, 2 MiB */
	mov %eax, pd(,%ecx,8)
	mov %ecx, %eax
	shr $11, %eax                   /* bits 32+ of the address */
	mov %eax, pd+4(,%ecx,8)
	inc %ecx
	cmp $2048, %ecx
	jne 2b

	/* The first 2 MiB through 4 KiB pages with page 0 read-only (boot
	 * loaders may leave data there), so that a write through a NULL
	 * pointer faults instead of landing at address 0 (CR0.WP is set). */
	movl $0x1, pt0                  /* present, read-only */
	mov $1, %ecx
3:	mov %ecx, %eax
	shl $12, %eax
	or $0x3, %eax                   /* present, writable */
	mov %eax, pt0(,%ecx,8)
	inc %ecx
	cmp $512, %ecx
	jne 3b
	mov $pt0, %eax
	or $0x3, %eax
	mov %eax, pd
	movl $0, pd+4

	mov %cr4, %eax
	or $0x20, %eax                  /* PAE */
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx           /* EFER */
	rdmsr
	or $0x900, %eax                 /* LME | NXE */
	wrmsr
	mov %cr0, %eax
	or $0x80010001, %eax            /* PG | WP | PE */
	mov %eax, %cr0
	ljmp $0x08, $long_entry

	.code64
long_entry:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	mov $boot_stack_top, %rsp
	xor %ebp, %ebp
	/* SSE: CR0.MP on, CR0.EM off, CR4.OSFXSR | OSXMMEXCPT. */
	mov %cr0, %rax
	and $~0x4, %rax
	or $0x22, %rax                  /* MP | NE */
	mov %rax, %cr0
	mov %cr4, %rax
	or $0x600, %rax
	mov %rax, %cr4
	ldmxcsr mxcsr_init
	mov %edi, %edi                  /* zero-extend start_info */
	call pvh_main
3:	hlt
	jmp 3b

/*
 * Exception stubs: each pushes an error code (0 when the CPU pushes none)
 * and its vector, then the common path saves the general registers and
 * calls trap_entry(struct trap_frame *).
 */
	.macro TRAP_NOERR vec
	.globl trap_stub_\vec
trap_stub_\vec:
	pushq $0
	pushq $\vec
	jmp trap_common
	.endm
	.macro TRAP_ERR vec
	.globl trap_stub_\vec
trap_stub_\vec:
	pushq $\vec
	jmp trap_common
	.endm

	.text
	TRAP_NOERR 0
	TRAP_NOERR 1
	TRAP_NOERR 2
	TRAP_NOERR 3
	TRAP_NOERR 4
	TRAP_NOERR 5
	TRAP_NOERR 6
	TRAP_NOERR 7
	TRAP_ERR 8
	TRAP_NOERR 9
	TRAP_ERR 10
	TRAP_ERR 11
	TRAP_ERR 12
	TRAP_ERR 13
	TRAP_ERR 14
	TRAP_NOERR 15
	TRAP_NOERR 16
	TRAP_ERR 17
	TRAP_NOERR 18
	TRAP_NOERR 19
	TRAP_NOERR 20
	TRAP_ERR 21
	TRAP_NOERR 22
	TRAP_NOERR 23
	TRAP_NOERR 24
	TRAP_NOERR 25
	TRAP_NOERR 26
	TRAP_NOERR 27
	TRAP_NOERR 28
	TRAP_ERR 29
	TRAP_ERR 30
	TRAP_NOERR 31

trap_common:
	/* Frame layout (struct trap_frame in xen.c), from the stack top:
	 * r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax,
	 * vector, error, then the CPU's rip cs rflags rsp ss. */
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	mov %rsp, %rbx
	and $~0xf, %rsp                 /* the C ABI's stack alignment */
	call trap_entry
	mov %rbx, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp                   /* vector, error code */
	iretq

	.section .rodata
	.balign 8
	.globl trap_stubs
trap_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\v
	.endr

	.balign 16
gdt:
	.quad 0
	.quad 0x00af9b000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf93000000ffff        /* 0x10: flat data */
	.quad 0x00cf9b000000ffff        /* 0x18: 32-bit code (unused) */
gdt_end:
	.balign 4
	.globl gdt_ptr
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt
mxcsr_init:
	.long 0x1f80

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096
	.globl pt0
pt0:	.skip 4096
	/* Unmapped by xen.c (guard_init): running off the stack faults, and
	 * the #DF handler runs on a stack of its own (IST 1). */
	.globl stack_guard
stack_guard:
	.skip 4096
boot_stack:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
