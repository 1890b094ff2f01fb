/* SPDX-License-Identifier: MIT */
/* ELF64 images (upstream's dune_elf_* API), for loaders such as a sandbox:
 * open a file or a memory image, walk program and section headers, load a
 * PT_LOAD segment. Only ELF64 little-endian x86-64 is accepted. Types come
 * from glibc's <elf.h>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dune.h"

static bool in_image(const struct dune_elf *elf, uint64_t off, uint64_t len)
{
	return off <= (uint64_t)elf->len && len <= (uint64_t)elf->len - off;
}

static int check_and_index(struct dune_elf *elf)
{
	const Elf64_Ehdr *h = &elf->hdr;
	if ((size_t)elf->len < sizeof(*h))
		return -EINVAL;
	memcpy(&elf->hdr, elf->mem, sizeof(elf->hdr));
	if (memcmp(h->e_ident, ELFMAG, SELFMAG) || h->e_ident[EI_CLASS] != ELFCLASS64 ||
	    h->e_ident[EI_DATA] != ELFDATA2LSB || h->e_machine != EM_X86_64)
		return -ENOEXEC;
	if (h->e_phnum && (h->e_phentsize != sizeof(Elf64_Phdr) || !in_image(elf, h->e_phoff, (uint64_t)h->e_phnum * sizeof(Elf64_Phdr))))
		return -EINVAL;
	if (h->e_shnum && (h->e_shentsize != sizeof(Elf64_Shdr) || !in_image(elf, h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf64_Shdr))))
		return -EINVAL;
	elf->phdr = h->e_phnum ? (Elf64_Phdr *)(elf->mem + h->e_phoff) : NULL;
	elf->shdr = h->e_shnum ? (Elf64_Shdr *)(elf->mem + h->e_shoff) : NULL;
	elf->shdrstr = NULL;
	if (elf->shdr && h->e_shstrndx < h->e_shnum) {
		const Elf64_Shdr *s = &elf->shdr[h->e_shstrndx];
		if (in_image(elf, s->sh_offset, s->sh_size) && s->sh_size)
			elf->shdrstr = (char *)elf->mem + s->sh_offset;
	}
	return 0;
}

int dune_elf_open_mem(struct dune_elf *elf, void *mem, int len)
{
	memset(elf, 0, sizeof(*elf));
	elf->fd = -1;
	elf->mem = mem;
	elf->len = len;
	return len < 0 ? -EINVAL : check_and_index(elf);
}

int dune_elf_open(struct dune_elf *elf, const char *path)
{
	struct stat st;
	memset(elf, 0, sizeof(*elf));
	elf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (elf->fd < 0)
		return -errno;
	if (fstat(elf->fd, &st) || st.st_size <= 0 || st.st_size > 0x7fffffff) {
		dune_elf_close(elf);
		return -EINVAL;
	}
	elf->len = (int)st.st_size;
	elf->mem = mmap(NULL, (size_t)elf->len, PROT_READ, MAP_PRIVATE, elf->fd, 0);
	if (elf->mem == MAP_FAILED) {
		elf->mem = NULL;
		int r = -errno;
		dune_elf_close(elf);
		return r;
	}
	int r = check_and_index(elf);
	if (r)
		dune_elf_close(elf);
	return r;
}

int dune_elf_close(struct dune_elf *elf)
{
	if (elf->fd >= 0) { /* a file we mapped (not a caller's memory image) */
		if (elf->mem)
			munmap(elf->mem, (size_t)elf->len);
		close(elf->fd);
	}
	elf->fd = -1;
	elf->mem = NULL;
	return 0;
}

int dune_elf_iter_ph(struct dune_elf *elf, dune_elf_phcb cb)
{
	for (int i = 0; i < elf->hdr.e_phnum; i++) {
		int r = cb(elf, &elf->phdr[i]);
		if (r)
			return r;
	}
	return 0;
}

int dune_elf_iter_sh(struct dune_elf *elf, dune_elf_shcb cb)
{
	for (int i = 0; i < elf->hdr.e_shnum; i++) {
		const Elf64_Shdr *s = &elf->shdr[i];
		const char *name = elf->shdrstr && s->sh_name < elf->shdr[elf->hdr.e_shstrndx].sh_size ? elf->shdrstr + s->sh_name : "";
		int r = cb(elf, name, i, &elf->shdr[i]);
		if (r)
			return r;
	}
	return 0;
}

/* Maps PT_LOAD segment phdr at its vaddr + off: the file part privately
 * (MAP_FIXED), the rest (bss) zeroed, with the segment's permissions. */
int dune_elf_load_ph(struct dune_elf *elf, Elf64_Phdr *phdr, off_t off)
{
	if (phdr->p_type != PT_LOAD || phdr->p_filesz > phdr->p_memsz || !in_image(elf, phdr->p_offset, phdr->p_filesz) ||
	    (phdr->p_vaddr & (PGSIZE - 1)) != (phdr->p_offset & (PGSIZE - 1)))
		return -EINVAL;
	int prot = ((phdr->p_flags & PF_R) ? PROT_READ : 0) | ((phdr->p_flags & PF_W) ? PROT_WRITE : 0) |
		   ((phdr->p_flags & PF_X) ? PROT_EXEC : 0);
	uintptr_t va = phdr->p_vaddr + (uintptr_t)off, page = va & ~(uintptr_t)(PGSIZE - 1);
	uintptr_t end = (va + phdr->p_memsz + PGSIZE - 1) & ~(uintptr_t)(PGSIZE - 1);
	void *m = mmap((void *)page, end - page, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	memcpy((void *)va, elf->mem + phdr->p_offset, phdr->p_filesz);
	if (mprotect(m, end - page, prot))
		return -errno;
	return 0;
}

static int dump_ph(struct dune_elf *elf, Elf64_Phdr *p)
{
	(void)elf;
	printf("  type 0x%x flags %c%c%c offset 0x%lx vaddr 0x%lx filesz 0x%lx memsz 0x%lx\n", p->p_type,
	       (p->p_flags & PF_R) ? 'r' : '-', (p->p_flags & PF_W) ? 'w' : '-', (p->p_flags & PF_X) ? 'x' : '-',
	       (unsigned long)p->p_offset, (unsigned long)p->p_vaddr, (unsigned long)p->p_filesz, (unsigned long)p->p_memsz);
	return 0;
}

static int dump_sh(struct dune_elf *elf, const char *name, int idx, Elf64_Shdr *s)
{
	(void)elf;
	printf("  [%2d] %-20s type 0x%x addr 0x%lx size 0x%lx\n", idx, name, s->sh_type, (unsigned long)s->sh_addr,
	       (unsigned long)s->sh_size);
	return 0;
}

int dune_elf_dump(struct dune_elf *elf)
{
	printf("ELF: type %u entry 0x%lx, %u program headers, %u sections\n", elf->hdr.e_type,
	       (unsigned long)elf->hdr.e_entry, elf->hdr.e_phnum, elf->hdr.e_shnum);
	dune_elf_iter_ph(elf, dump_ph);
	dune_elf_iter_sh(elf, dump_sh);
	return 0;
}
