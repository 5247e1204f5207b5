/* vfork for x86_64.
 *
 * Why vfork cannot be an ordinary C wrapper: the vfork child runs on the
 * parent's stack, in the parent's memory, until it execs or exits.  A C
 * wrapper that calls the real vfork returns in the child first, through
 * the wrapper's own frame; the child then goes on to call other functions,
 * which overwrite that frame (saved registers, the wrapper's return
 * address).  When the parent resumes, it returns from the same, now
 * clobbered, frame and jumps to garbage (musl's src/process/vfork.c,
 * google/sanitizers#925).
 *
 * So the wrapper owns no frame across the system call:
 *   0. before anything else, an ordinary call to rc_child_clock_now (the
 *      start of the child's birth window, child_identity.c), whose result is
 *      kept in %r9: vfork takes no arguments, so nothing of the caller's is
 *      live in the registers that call may clobber;
 *   1. the thread's rcleak mode is saved in a register (%r8d), and the return
 *      address is popped into another (%rdx): registers are per process, the
 *      stack is not;
 *   2. the raw vfork system call (syscall clobbers only %rax, %rcx, %r11);
 *   3. the return address is pushed back (each process from its own %rdx, so
 *      whatever the child wrote there, the parent restores it);
 *   4. in the child: rc_tls_mode = RC_MODE_VFORK and return 0.  The child
 *      shares the parent thread's TLS, so from now on every wrapper it calls
 *      passes straight through and touches no rcleak state at all (rc.h);
 *   5. in the parent, which runs again once the child has exec'd or exited:
 *      the saved mode is written back (the child overwrote the shared word),
 *      and a C helper, rc_vfork_parent(result, birth window start)
 *      (child_interpose.c), sets errno on failure or records the child with
 *      its stack.  The stack is captured in the parent only, through the CFI
 *      below, which describes every instruction so the unwinder can step
 *      from rc_vfork_parent through this function into the program's caller.
 * rc_tls_mode is initial-exec TLS: %fs-relative, no call, no allocation. */

#include <asm/unistd.h>

#define RC_MODE_VFORK 2 /* rc.h */

	.text
	.globl	vfork
	.type	vfork, @function
	.p2align 4
vfork:
	.cfi_startproc
#ifdef __CET__
	endbr64
#endif
	subq	$8, %rsp /* 16-byte alignment for the call */
	.cfi_adjust_cfa_offset 8
	call	rc_child_clock_now
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	movq	%rax, %r9 /* syscall clobbers only %rax, %rcx, %r11 */
	movq	rc_tls_mode@gottpoff(%rip), %rcx
	movl	%fs:(%rcx), %r8d
	popq	%rdx
	.cfi_adjust_cfa_offset -8
	.cfi_register %rip, %rdx
	movl	$__NR_vfork, %eax
	syscall
	pushq	%rdx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rip, 0
	testq	%rax, %rax
	jnz	1f
	/* the child */
	movq	rc_tls_mode@gottpoff(%rip), %rcx
	movl	$RC_MODE_VFORK, %fs:(%rcx)
	ret
1:	/* the parent, or a failed vfork */
	movq	rc_tls_mode@gottpoff(%rip), %rcx
	movl	%r8d, %fs:(%rcx)
	subq	$8, %rsp /* 16-byte alignment for the call */
	.cfi_adjust_cfa_offset 8
	movq	%rax, %rdi
	movq	%r9, %rsi
	call	rc_vfork_parent
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	ret
	.cfi_endproc
	.size	vfork, .-vfork

	.section .note.GNU-stack, "", @progbits
