/* Second-level page tables: Intel's extended page tables (SDM Vol. 3C 29.3)
 * and AMD's nested page tables (APM Vol. 2 15.25, the long-mode format),
 * through struct gpt_format. Building Linux's identity map, a Dune
 * context's tables, looking entries up. Pure logic over a page_pool:
 * host-testable. The ept_ names are the EPT format's shorthands. */
#ifndef HV_EPT_H
#define HV_EPT_H

#include "core/exit.h"
#include "core/mtrr.h"
#include "core/page_pool.h"

/* EPT paging-structure entry bits (SDM 29.3.2, Tables 29-1..29-6). */
#define EPT_READ BIT(0)
#define EPT_WRITE BIT(1)
#define EPT_EXECUTE BIT(2)
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXECUTE)
#define EPT_MEMTYPE_SHIFT 3
#define EPT_IGNORE_PAT BIT(6)
#define EPT_LARGE_PAGE BIT(7)
#define EPT_ADDR_MASK 0x000ffffffffff000ull
#define EPT_ENTRIES 512

/* EPTP (SDM 25.6.11): WB paging-structure memory type, 4-level walk. */
#define EPTP_MEMTYPE_WB 6ull
#define EPTP_WALK_LENGTH_4 (3ull << 3)
static inline u64 ept_pointer(u64 pml4_pa) { return pml4_pa | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4; }

/* NPT entry bits (APM Vol. 2 15.25.5: the long-mode page-table format). */
#define NPT_PRESENT BIT(0)
#define NPT_WRITE BIT(1)
#define NPT_USER BIT(2)
#define NPT_PWT BIT(3)
#define NPT_PCD BIT(4)
#define NPT_NX BIT(63)
#define NPT_TABLE (NPT_PRESENT | NPT_WRITE | NPT_USER)

/* What differs between the two formats: which bits make an entry present,
 * a table entry's bits, a leaf's bits for an MTRR memory type in the
 * identity map (EPT: RWX and the type; NPT: P, RW, US and the PAT index of
 * that type), the bits a mapped leaf may carry, and a write-back leaf's
 * bits for a Dune context's HV_ACCESS_* (0 where the format cannot say it:
 * NPT has no access without read), and the write bit. Large leaves are bit 7 and addresses
 * bits 51:12 in both. */
struct gpt_format {
	u64 present;
	u64 write;          /* the bit that allows writes through a leaf */
	u64 table_bits;
	u64 (*leaf_bits)(int mtrr_type);
	u64 leaf_allowed;
	u64 (*access_bits)(u32 access);
};
extern const struct gpt_format ept_format, npt_format;

/* The size a leaf at level maps (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB), in both formats. */
static inline u64 gpt_level_size(int level) { return 1ull << (12 + 9 * (level - 1)); }

/* A guest-physical range that must be absent from the map. */
struct ept_hole {
	u64 base, size;
};

struct ept_identity_params {
	u64 top;                      /* map [0, top), at most 256 TiB */
	const struct mtrr_state *mtrr;
	const struct ept_hole *holes; /* e.g. the hypervisor's own memory */
	unsigned hole_count;
	/* 4 KiB pages mapped without write access, so that a write exits (the
	 * SVM backend's xAPIC page, whose ICR writes it must see). */
	const u64 *read_only_pages;
	unsigned read_only_count;
	bool allow_2m, allow_1g;      /* leaf sizes the CPU supports */
	const struct gpt_format *format; /* NULL: EPT */
};

struct ept_stats {
	u64 leaves_1g, leaves_2m, leaves_4k, tables;
};

/* Builds an identity map GPA == HPA of [0, top) with the largest leaves whose
 * range has one MTRR type and does not touch a hole or a read-only page;
 * hole pages stay absent, read-only pages are 4 KiB leaves without write.
 * Returns 0 and the PML4's address, or -HV_ENOMEM (tables freed again). */
int ept_build_identity(struct page_pool *pool, const struct ept_identity_params *prm, u64 *pml4_pa,
		       struct ept_stats *stats);

/* What a context's tables below its root are charged to: its own count
 * against its quota, and its account's count (shared by the account's
 * contexts, updated atomically) against the account's limit (0: none).
 * New tables also leave `reserve` pages free in the pool. */
struct ept_charge {
	u64 *table_pages;
	u64 quota;
	u64 *account_pages;
	u64 account_limit;
	u64 reserve;
};

/* Installs one leaf mapping gpa -> hpa: level 1 (4 KiB), 2 (2 MiB) or 3
 * (1 GiB; the caller checks the CPU has 1 GiB pages), with leaf_bits (a
 * present bit and no bit outside the format's leaf_allowed: EPT's
 * READ/WRITE/EXECUTE and memory type, NPT's P/RW/US/NX and PAT index). Missing tables come from the pool
 * and are charged as *charge says. Replacing a leaf of the same size is
 * allowed (e.g. adding write access); tables of smaller pages that were all
 * unmapped are freed and replaced (the caller flushes before the context
 * runs again); a leaf where smaller pages are still mapped, or under a
 * larger leaf, is refused (-HV_EEXIST): unmap first. Returns 0, -HV_EINVAL,
 * -HV_ENOMEM (the pool is down to its reserve) or -HV_EDQUOT (the quota or
 * the account's limit). */
int gpt_map_leaf(struct page_pool *pool, const struct gpt_format *format, u64 pml4_pa, u64 gpa, u64 hpa, int level,
		 u64 leaf_bits, const struct ept_charge *charge);
static inline int ept_map_leaf(struct page_pool *pool, u64 pml4_pa, u64 gpa, u64 hpa, int level, u64 leaf_bits,
			       const struct ept_charge *charge)
{
	return gpt_map_leaf(pool, &ept_format, pml4_pa, gpa, hpa, level, leaf_bits, charge);
}

/* Removes every leaf translating an address in [gpa, gpa + size) (a 2 MiB
 * or 1 GiB leaf that overlaps the range goes whole). Returns the number removed.
 * Tables left without any entry are unlinked from the tree (never the root)
 * and chained in *detached: the context may still walk them on a CPU that
 * caches the path (SDM Vol. 3C 29.4.3), so the caller frees them with
 * ept_free_detached only after the INVEPT that flushes that CPU, as KVM
 * frees its shadow pages after the remote TLB flush. */
u64 gpt_unmap_range(struct page_pool *pool, const struct gpt_format *format, u64 pml4_pa, u64 gpa, u64 size,
		    u64 *detached);
static inline u64 ept_unmap_range(struct page_pool *pool, u64 pml4_pa, u64 gpa, u64 size, u64 *detached)
{
	return gpt_unmap_range(pool, &ept_format, pml4_pa, gpa, size, detached);
}

/* Frees the tables ept_unmap_range chained in detached; returns how many,
 * for the caller to take off its charge. */
u64 ept_free_detached(struct page_pool *pool, u64 detached);

/* Takes count tables off a charge (after they were freed). */
void ept_uncharge(const struct ept_charge *charge, u64 count);

/* Frees pml4_pa and every table below it (not the pages mapped by leaves);
 * gpt_: of either format. */
void ept_free_tables(struct page_pool *pool, u64 pml4_pa);
void gpt_free_tables(struct page_pool *pool, const struct gpt_format *format, u64 pml4_pa);

/* Leaf entry mapping gpa and its level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB),
 * or 0 when gpa is not mapped. */
u64 gpt_lookup(const struct gpt_format *format, pa_to_va_fn pa_to_va, u64 pml4_pa, u64 gpa, int *level);
static inline u64 ept_lookup(pa_to_va_fn pa_to_va, u64 pml4_pa, u64 gpa, int *level)
{
	return gpt_lookup(&ept_format, pa_to_va, pml4_pa, gpa, level);
}

#endif
