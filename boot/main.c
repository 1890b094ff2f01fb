/* dunehv.efi: reads dunehv.cfg, checks the kernel and the CPU, starts the
 * hypervisor under the running firmware, then boots Linux as its guest.
 * Every failure prints "dunehv: error: ..." (a bad config: every problem,
 * one line each) and follows on_fail. When Linux then boots natively, it
 * learns why: its command line gets dunehv.fallback=<what>, and the
 * volatile EFI variable DunehvFallback holds the error line (dune.ko
 * quotes it when it refuses to load). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "loader.h"

#include "../hv/core/config.h"
#include "../hv/arch/x86/virt_caps.h"

_Static_assert(offsetof(struct hv_boot_info, host_cr3) == 48, "trampoline.asm BI_HOST_CR3");
_Static_assert(offsetof(struct hv_boot_cpu, guest_rip) == 0, "trampoline.asm CPU_GUEST_RIP");
_Static_assert(offsetof(struct hv_boot_cpu, guest_rsp) == 8, "trampoline.asm CPU_GUEST_RSP");
_Static_assert(offsetof(struct hv_boot_cpu, guest_rflags) == 16, "trampoline.asm CPU_GUEST_RFLAGS");
_Static_assert(offsetof(struct hv_boot_cpu, guest_cr3) == 24, "trampoline.asm CPU_GUEST_CR3");
_Static_assert(offsetof(struct hv_boot_cpu, stack_top) == 32, "trampoline.asm CPU_STACK_TOP");
_Static_assert(offsetof(struct hv_boot_cpu, index) == 40, "trampoline.asm CPU_INDEX");

#define LOADER_VERSION L"0.1"
/* {3f1c8d2a-6b47-4f0e-9d15-d00e00000101}: the loader's vendor GUID (DunehvFallback) */
static EFI_GUID dunehv_guid = {0x3f1c8d2a, 0x6b47, 0x4f0e, {0x9d, 0x15, 0xd0, 0x0e, 0x00, 0x00, 0x01, 0x01}};
#define CONFIG_NAME "dunehv.cfg"

static struct hv_config cfg;
static char cmdline[CONFIG_CMDLINE_MAX + 2 * CONFIG_PATH_MAX + 64];

/* Kernel command line: the configured one, the initrd and, under the VMX
 * hypervisor, a 10 ms INIT-to-SIPI delay (cpu_init_udelay=10000) unless the
 * configured line sets one: Linux skips that delay on modern CPUs, but an
 * INIT exit must have put the CPU into wait-for-SIPI before the SIPI
 * arrives, or the SIPI is lost (SDM 26.2). The SVM image needs none
 * (VIRT_INIT_SIPI_DELAY, virt_caps.h). */
/* Why Linux boots natively: a short word for its command line
 * (dunehv.fallback=) and the error line for the EFI variable. */
struct fallback {
	const char *what; /* config, memory, vmx, cpus, acpi, launch, off */
	char line[CONFIG_ERROR_LINE];
};

static void build_cmdline(const struct loader_env *env, bool virtualized, const struct fallback *fb)
{
	CHAR16 initrd16[CONFIG_PATH_MAX];
	char initrd[CONFIG_PATH_MAX];
	size_t n = 0;
	n += (size_t)snprintf(cmdline + n, sizeof(cmdline) - n, "%s", cfg.cmdline);
	if (cfg.initrd[0]) {
		loader_resolve_path(env, cfg.initrd, initrd16, CONFIG_PATH_MAX);
		size_t i = 0;
		for (; initrd16[i] && i + 1 < sizeof(initrd); i++)
			initrd[i] = (char)initrd16[i];
		initrd[i] = '\0';
		n += (size_t)snprintf(cmdline + n, sizeof(cmdline) - n, "%sinitrd=%s", n ? " " : "", initrd);
	}
	if (VIRT_INIT_SIPI_DELAY && virtualized && !strstr(cfg.cmdline, "cpu_init_udelay=") && n < sizeof(cmdline))
		n += (size_t)snprintf(cmdline + n, sizeof(cmdline) - n, "%scpu_init_udelay=10000", n ? " " : "");
	if (fb && n < sizeof(cmdline))
		snprintf(cmdline + n, sizeof(cmdline) - n, "%sdunehv.fallback=%s", n ? " " : "", fb->what);
}

/* The reason, for Linux: a volatile variable (boot and runtime access, not
 * stored in flash), at /sys/firmware/efi/efivars/DunehvFallback-<guid>. */
static void publish_fallback(const struct fallback *fb)
{
	UINT32 attr = EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS;
	EFI_STATUS st = uefi_call_wrapper(RT->SetVariable, 5, L"DunehvFallback", &dunehv_guid, attr,
					  strlen(fb->line) + 1, (void *)fb->line);
	if (EFI_ERROR(st))
		say(L"warning: cannot set the EFI variable DunehvFallback: %r", st);
}

/* Where the firmware has no ACPI tables (OVMF under Bochs), a minimal
 * RSDP/XSDT/MADT listing the MP services' CPUs, so that Linux finds them all;
 * firmware with ACPI is left untouched. -1 (what says why) on failure. */
static int offer_acpi_if_missing(const struct loader_cpus *cpus, const char **what)
{
	int acpi = loader_acpi_install_if_missing(cpus, what);
	if (acpi > 0)
		say(L"the firmware has no ACPI tables: installed an RSDP/XSDT/MADT listing %u CPUs", cpus->count);
	return acpi < 0 ? -1 : 0;
}

/* Linux without the hypervisor, through the same loader path (ACPI tables
 * included, so that it finds the same CPUs); why is the setting that chose
 * it, fb the failure that led there. */
static EFI_STATUS start_linux_natively(const struct loader_env *env, const CHAR16 *why, const struct fallback *fb)
{
	CHAR16 kernel[CONFIG_PATH_MAX];
	struct loader_cpus cpus;
	const char *what = NULL;
	say(L"%s: starting Linux without the hypervisor", why);
	if (EFI_ERROR(loader_mp_discover(&cpus, &what)) || offer_acpi_if_missing(&cpus, &what))
		say(L"warning: %a: Linux may find fewer CPUs", what);
	publish_fallback(fb);
	build_cmdline(env, false, fb);
	loader_resolve_path(env, cfg.kernel, kernel, CONFIG_PATH_MAX);
	return loader_start_linux(env, kernel, cmdline);
}

/* Prints "error: <line>" and keeps it as the reason of a fallback. */
static void fail(struct fallback *fb, const char *what, const char *fmt, const char *detail)
{
	fb->what = what;
	snprintf(fb->line, sizeof(fb->line), fmt, detail);
	say(L"error: %a", fb->line);
}

/* on_fail: boot Linux natively, or stop here. */
static EFI_STATUS follow_on_fail(const struct loader_env *env, bool kernel_ok, const struct fallback *fb)
{
	if (cfg.on_fail == ON_FAIL_NATIVE && kernel_ok)
		return start_linux_natively(env, L"on_fail = native", fb);
	if (cfg.on_fail == ON_FAIL_NATIVE)
		say(L"on_fail = native, but there is no kernel to start: returning to the firmware");
	else
		say(L"on_fail = halt: not starting Linux; halted (reset the machine to continue)");
	if (cfg.on_fail == ON_FAIL_HALT)
		for (;;)
			uefi_call_wrapper(BS->Stall, 1, 1000000);
	return EFI_ABORTED;
}

/* memory = against the firmware's memory map, before anything else is
 * loaded: the hypervisor's memory is one run of free RAM (plus 2 MiB to
 * align it), and Linux needs some left. 0, or -1 with the reason in fb. */
#define LINUX_MIN_BYTES (128ull << 20)
static int check_memory(struct fallback *fb)
{
	UINT64 largest = 0, total = 0;
	if (EFI_ERROR(loader_free_memory(&largest, &total))) {
		say(L"warning: cannot read the firmware's memory map; memory = %ldM is not checked", cfg.memory_bytes >> 20);
		return 0;
	}
	char detail[CONFIG_ERROR_LINE];
	if (cfg.memory_bytes + (2ull << 20) > largest) {
		snprintf(detail, sizeof(detail), "%lluM, but the largest run of free RAM is %lluM (of %lluM free)",
			 (unsigned long long)(cfg.memory_bytes >> 20), (unsigned long long)(largest >> 20),
			 (unsigned long long)(total >> 20));
		fail(fb, "memory", "memory = %s: lower it in dunehv.cfg", detail);
		return -1;
	}
	if (total < cfg.memory_bytes + LINUX_MIN_BYTES) {
		snprintf(detail, sizeof(detail), "%lluM leaves Linux %lluM of %lluM free (it needs at least %lluM)",
			 (unsigned long long)(cfg.memory_bytes >> 20),
			 (unsigned long long)((total - cfg.memory_bytes) >> 20), (unsigned long long)(total >> 20),
			 (unsigned long long)(LINUX_MIN_BYTES >> 20));
		fail(fb, "memory", "memory = %s: lower it in dunehv.cfg", detail);
		return -1;
	}
	return 0;
}

static bool check_file(const struct loader_env *env, const char *what, const char *path)
{
	CHAR16 p[CONFIG_PATH_MAX];
	UINT64 size = 0;
	loader_resolve_path(env, path, p, CONFIG_PATH_MAX);
	EFI_STATUS st = loader_file_exists(env, p, &size);
	if (EFI_ERROR(st) || size == 0) {
		say(L"error: %a %s: %r", what, p, EFI_ERROR(st) ? st : EFI_END_OF_FILE);
		return false;
	}
	return true;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct loader_env env;
	struct loader_file file = {0};
	char error[CONFIG_ERROR_MAX];
	CHAR16 path[CONFIG_PATH_MAX];
	struct fallback fb = {.what = "config", .line = ""};

	InitializeLib(image, systab);
	say(L"loader " LOADER_VERSION);
	config_defaults(&cfg);
	EFI_STATUS st = loader_env_init(image, &env);
	if (EFI_ERROR(st)) {
		say(L"error: cannot open the volume dunehv.efi was loaded from: %r", st);
		return st;
	}

	loader_resolve_path(&env, CONFIG_NAME, path, CONFIG_PATH_MAX);
	st = loader_read_file(&env, path, &file);
	if (EFI_ERROR(st)) {
		say(L"error: cannot read config %s: %r", path, st);
		return follow_on_fail(&env, false, &fb);
	}
	if (config_parse(file.data, file.size, &cfg, error, sizeof(error))) {
		/* every problem, one line each */
		unsigned problems = 1;
		for (const char *c = error; *c; c++)
			problems += *c == '\n';
		say(L"error: bad config %s: %u problem%a", path, problems, problems == 1 ? "" : "s");
		for (char *line = error, *next; line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			say(L"  %a", line);
		}
		snprintf(fb.line, sizeof(fb.line), "bad config: %u problem%s, the first: %s", problems,
			 problems == 1 ? "" : "s", error);
		bool kernel_ok = cfg.kernel[0] && check_file(&env, "kernel", cfg.kernel);
		return follow_on_fail(&env, kernel_ok && (!cfg.initrd[0] || check_file(&env, "initrd", cfg.initrd)), &fb);
	}
	say(L"config %s: kernel=%a initrd=%a memory=%ldM log_level=%a on_fail=%a on_panic=%a", path, cfg.kernel,
	    cfg.initrd[0] ? cfg.initrd : "(none)", cfg.memory_bytes >> 20, config_log_level_name(cfg.log_level),
	    config_on_fail_name(cfg.on_fail), config_on_panic_name(cfg.on_panic));
	if (!check_file(&env, "kernel", cfg.kernel) || (cfg.initrd[0] && !check_file(&env, "initrd", cfg.initrd))) {
		say(L"cannot boot Linux without its files: returning to the firmware");
		return EFI_NOT_FOUND;
	}
	if (!cfg.hypervisor) { /* make bench-boot's native boot, or an A/B comparison */
		struct fallback off = {.what = "off", .line = "hypervisor = off in dunehv.cfg"};
		return start_linux_natively(&env, L"hypervisor = off", &off);
	}
	if (check_memory(&fb))
		return follow_on_fail(&env, true, &fb);

	virt_cpu_facts facts;
	virt_controls ctl;
	virt_read_facts(&facts);
	if (!virt_usable(&facts, &ctl, error, sizeof(error))) {
		fail(&fb, VIRT_FALLBACK_WORD, VIRT_NAME " unavailable: %s", error);
		return follow_on_fail(&env, true, &fb);
	}
	/* Every CPU must come under the hypervisor, or none: a CPU left outside
	 * the hypervisor could reach all memory. */
	struct loader_cpus cpus;
	const char *what = NULL;
	if (EFI_ERROR(loader_mp_discover(&cpus, &what))) {
		fail(&fb, "cpus", "%s", what);
		return follow_on_fail(&env, true, &fb);
	}
	if (loader_mp_check_virt(&cpus, &ctl, error, sizeof(error))) {
		fail(&fb, VIRT_FALLBACK_WORD, VIRT_NAME " unavailable: %s", error);
		return follow_on_fail(&env, true, &fb);
	}
	if (offer_acpi_if_missing(&cpus, &what)) {
		fail(&fb, "acpi", "%s", what);
		return follow_on_fail(&env, true, &fb);
	}
	BOOLEAN hv_active = FALSE;
	if (loader_launch_hypervisor(&env, &cfg, &cpus, &what, &hv_active)) {
		fail(&fb, "launch", "%s", what);
		if (hv_active) {
			/* The boot CPU is already a guest: Linux must not run with a
			 * CPU outside the hypervisor, so the launch stops here. */
			say(L"the launch stops here (reset the machine to continue)");
			for (;;)
				uefi_call_wrapper(BS->Stall, 1, 1000000);
		}
		return follow_on_fail(&env, true, &fb);
	}
	/* From here on every CPU runs as the hypervisor's guest. */
	say(L"hypervisor active on all %u CPUs (" VIRT_FEATURES "); Linux boots as its guest", cpus.count);
	build_cmdline(&env, true, NULL);
	loader_resolve_path(&env, cfg.kernel, path, CONFIG_PATH_MAX);
	return loader_start_linux(&env, path, cmdline);
}
