/* SPDX-License-Identifier: MIT */
/* Loads the sandboxee as Linux's binfmt_elf would: its PT_LOAD segments (at
 * their addresses for ET_EXEC, anywhere Linux's mmap area has room for
 * ET_DYN), the interpreter named by PT_INTERP the same way, a stack with
 * argv, envp and the auxiliary vector (System V x86-64 psABI 3.4.1), and a
 * brk area after the program. Every range is reserved first (MAP_FIXED only
 * inside a reservation of our own), so loading never replaces the
 * monitor's memory, and registered with umem.c. Runs in Dune mode (ring 0). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sandbox.h"

struct loaded {
	uintptr_t bias;      /* added to every p_vaddr */
	uintptr_t end;       /* end of the highest segment */
	uintptr_t entry, phdr;
	unsigned phnum;
};

static int fail(char *err, size_t n, int r, const char *fmt, const char *what)
{
	snprintf(err, n, fmt, what, strerror(-r));
	return r;
}

static int prot_of(const Elf64_Phdr *p)
{
	return ((p->p_flags & PF_R) ? PROT_READ : 0) | ((p->p_flags & PF_W) ? PROT_WRITE : 0) |
	       ((p->p_flags & PF_X) ? PROT_EXEC : 0);
}

/* Maps one image; extra bytes after it are reserved too (the brk area). */
static int map_image(struct dune_elf *elf, const char *path, size_t extra, struct loaded *out, char *err, size_t n)
{
	const Elf64_Ehdr *h = &elf->hdr;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	if (h->e_type != ET_EXEC && h->e_type != ET_DYN)
		return fail(err, n, -ENOEXEC, "%s: not an executable (%s)", path);
	for (int i = 0; i < h->e_phnum; i++) {
		const Elf64_Phdr *p = &elf->phdr[i];
		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_filesz > p->p_memsz || (p->p_vaddr & (SB_PAGE - 1)) != (p->p_offset & (SB_PAGE - 1)) ||
		    p->p_offset > (uint64_t)elf->len || p->p_filesz > (uint64_t)elf->len - p->p_offset ||
		    p->p_vaddr + p->p_memsz < p->p_vaddr)
			return fail(err, n, -ENOEXEC, "%s: a bad PT_LOAD segment (%s)", path);
		if (SB_PAGE_DOWN(p->p_vaddr) < lo)
			lo = SB_PAGE_DOWN(p->p_vaddr);
		if (SB_PAGE_UP(p->p_vaddr + p->p_memsz) > hi)
			hi = SB_PAGE_UP(p->p_vaddr + p->p_memsz);
	}
	if (hi <= lo)
		return fail(err, n, -ENOEXEC, "%s: no PT_LOAD segment (%s)", path);
	size_t span = hi - lo + extra;
	void *want = h->e_type == ET_EXEC ? (void *)lo : NULL;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (want ? MAP_FIXED_NOREPLACE : 0);
	char *base = mmap(want, span, PROT_NONE, flags, -1, 0);
	if (base == MAP_FAILED)
		return fail(err, n, -errno, "%s: cannot reserve its addresses (%s)", path);
	if ((want && base != want) || !umem_in_window((uintptr_t)base, span)) {
		munmap(base, span);
		return fail(err, n, -ENOMEM, "%s: its addresses are taken or outside Dune's windows (%s)", path);
	}
	out->bias = (uintptr_t)base - lo;
	out->end = (uintptr_t)base + (hi - lo);
	out->entry = h->e_entry + out->bias;
	out->phnum = h->e_phnum;
	out->phdr = 0;
	for (int i = 0; i < h->e_phnum; i++) {
		const Elf64_Phdr *p = &elf->phdr[i];
		if (p->p_type == PT_PHDR)
			out->phdr = p->p_vaddr + out->bias;
		if (p->p_type != PT_LOAD)
			continue;
		if (!out->phdr && h->e_phoff >= p->p_offset && h->e_phoff - p->p_offset < p->p_filesz)
			out->phdr = p->p_vaddr + (h->e_phoff - p->p_offset) + out->bias;
		/* as binfmt_elf: the file's pages privately (only what the program
		 * touches is read), the rest of the last file page zeroed, then
		 * anonymous pages for the rest of p_memsz (bss) */
		uintptr_t va = p->p_vaddr + out->bias, page = SB_PAGE_DOWN(va), end = SB_PAGE_UP(va + p->p_memsz);
		uintptr_t file_end = va + p->p_filesz, file_pages_end = SB_PAGE_UP(file_end);
		int prot = prot_of(p), zero_tail = p->p_memsz > p->p_filesz && (file_end & (SB_PAGE - 1));
		if (p->p_filesz &&
		    mmap((void *)page, file_pages_end - page, prot | (zero_tail ? PROT_WRITE : 0), MAP_FIXED | MAP_PRIVATE,
			 elf->fd, (off_t)SB_PAGE_DOWN(p->p_offset)) == MAP_FAILED)
			return fail(err, n, -errno, "%s: cannot map a segment (%s)", path);
		if (zero_tail) {
			memset((void *)file_end, 0, file_pages_end - file_end);
			if (!(prot & PROT_WRITE) && mprotect((void *)page, file_pages_end - page, prot))
				return fail(err, n, -errno, "%s: mprotect of a segment (%s)", path);
		}
		uintptr_t anon = p->p_filesz ? file_pages_end : page;
		if (end > anon && mmap((void *)anon, end - anon, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
			return fail(err, n, -errno, "%s: cannot map a segment's bss (%s)", path);
	}
	/* Register the segments after all are in: two may share a page. */
	uintptr_t at = (uintptr_t)base;
	for (int i = 0; i < h->e_phnum; i++) {
		const Elf64_Phdr *p = &elf->phdr[i];
		if (p->p_type != PT_LOAD)
			continue;
		uintptr_t page = SB_PAGE_DOWN(p->p_vaddr + out->bias), end = SB_PAGE_UP(p->p_vaddr + p->p_memsz + out->bias);
		if (page > at)
			umem_add(at, page - at, PROT_NONE); /* gaps stay reserved, and the sandboxee's */
		if (page < at)
			page = at;
		if (end > page && umem_add(page, end - page, prot_of(p)))
			return fail(err, n, -ENOMEM, "%s: cannot map its pages (%s)", path);
		if (end > at)
			at = end;
	}
	if (extra && umem_add(out->end, extra, PROT_NONE))
		return fail(err, n, -ENOMEM, "%s: cannot reserve its brk area (%s)", path);
	return 0;
}

static int open_image(struct dune_elf *elf, const char *path, char *err, size_t n)
{
	int r = dune_elf_open(elf, path);
	if (r == -ENOEXEC || r == -EINVAL)
		return fail(err, n, r, "%s: not an x86-64 ELF executable (%s)", path);
	if (r)
		return fail(err, n, r, "%s: %s", path);
	return 0;
}

/* The initial stack (psABI Figure 3.9): argc, argv, NULL, envp, NULL,
 * auxv, AT_NULL, then the strings and AT_RANDOM's bytes above. */
static int build_stack(char *const argv[], char *const envp[], const struct loaded *prog, uintptr_t interp_base,
		       const char *execfn, uintptr_t *sp_out, char *err, size_t n)
{
	char *stack = mmap(NULL, SB_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		return fail(err, n, -errno, "%s: %s", "the stack");
	if (umem_add((uintptr_t)stack, SB_STACK_SIZE, PROT_READ | PROT_WRITE))
		return fail(err, n, -ENOMEM, "%s: %s", "the stack outside Dune's windows");
	char *top = stack + SB_STACK_SIZE;
	int argc = 0, envc = 0;
	while (argv[argc])
		argc++;
	while (envp[envc])
		envc++;
	uintptr_t *strs = calloc((size_t)(argc + envc), sizeof(*strs));
	if (!strs)
		return fail(err, n, -ENOMEM, "%s: %s", "the stack");
	char *at = top;
#define PUSH_STR(s) (at -= strlen(s) + 1, memcpy(at, (s), strlen(s) + 1), (uintptr_t)at)
	uintptr_t fn = PUSH_STR(execfn), platform = PUSH_STR("x86_64");
	for (int i = 0; i < argc; i++)
		strs[i] = PUSH_STR(argv[i]);
	for (int i = 0; i < envc; i++)
		strs[argc + i] = PUSH_STR(envp[i]);
#undef PUSH_STR
	at -= 16;
	uintptr_t random = (uintptr_t)at;
	if (getentropy(at, 16))
		memset(at, 0x5a, 16);
	uint64_t aux[][2] = {
		{AT_SYSINFO_EHDR, getauxval(AT_SYSINFO_EHDR)},
		{AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ)},
		{AT_HWCAP, getauxval(AT_HWCAP)},
		{AT_PAGESZ, SB_PAGE},
		{AT_CLKTCK, (uint64_t)sysconf(_SC_CLK_TCK)},
		{AT_PHDR, prog->phdr},
		{AT_PHENT, sizeof(Elf64_Phdr)},
		{AT_PHNUM, prog->phnum},
		{AT_BASE, interp_base},
		{AT_FLAGS, 0},
		{AT_ENTRY, prog->entry},
		{AT_UID, getuid()},
		{AT_EUID, geteuid()},
		{AT_GID, getgid()},
		{AT_EGID, getegid()},
		{AT_SECURE, 0},
		{AT_RANDOM, random},
		{AT_HWCAP2, getauxval(AT_HWCAP2)},
		{AT_EXECFN, fn},
		{AT_PLATFORM, platform},
		{AT_NULL, 0},
	};
	size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + 2 * (sizeof(aux) / sizeof(aux[0]));
	uintptr_t sp = ((uintptr_t)at - words * 8) & ~(uintptr_t)15; /* 16-byte aligned at entry (psABI 3.4.1) */
	uint64_t *w = (uint64_t *)sp;
	*w++ = (uint64_t)argc;
	for (int i = 0; i < argc; i++)
		*w++ = strs[i];
	*w++ = 0;
	for (int i = 0; i < envc; i++)
		*w++ = strs[argc + i];
	*w++ = 0;
	memcpy(w, aux, sizeof(aux));
	free(strs);
	*sp_out = sp;
	return 0;
}

int load_program(const char *path, char *const argv[], char *const envp[], struct sb_image *img, char *err, size_t n)
{
	struct dune_elf prog, interp;
	struct loaded p = {0}, ip = {0};
	char interp_path[4096] = "";
	int r = open_image(&prog, path, err, n);
	if (r)
		return r;
	for (int i = 0; i < prog.hdr.e_phnum; i++) {
		const Elf64_Phdr *ph = &prog.phdr[i];
		if (ph->p_type != PT_INTERP)
			continue;
		if (ph->p_filesz < 2 || ph->p_filesz >= sizeof(interp_path) || ph->p_offset > (uint64_t)prog.len ||
		    ph->p_filesz > (uint64_t)prog.len - ph->p_offset) {
			dune_elf_close(&prog);
			return fail(err, n, -ENOEXEC, "%s: a bad PT_INTERP (%s)", path);
		}
		memcpy(interp_path, prog.mem + ph->p_offset, ph->p_filesz);
		interp_path[ph->p_filesz] = 0;
	}
	r = map_image(&prog, path, SB_BRK_MAX, &p, err, n);
	dune_elf_close(&prog);
	if (r)
		return r;
	img->entry = p.entry;
	if (interp_path[0]) {
		r = open_image(&interp, interp_path, err, n);
		if (r)
			return r;
		r = map_image(&interp, interp_path, 0, &ip, err, n);
		dune_elf_close(&interp);
		if (r)
			return r;
		img->entry = ip.entry;
	}
	img->brk_start = p.end;
	return build_stack(argv, envp, &p, interp_path[0] ? ip.bias : 0, path, &img->stack, err, n);
}
