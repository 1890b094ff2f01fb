/* dunehv.cfg: the loader's configuration file (pure parser, host-testable).
 *
 * Format: one `key = value` per line; `#` starts a comment, on a line of its
 * own or after a value (after blank space; inside double quotes it is part
 * of the value); blank lines are ignored; a value may be wrapped in double
 * quotes; a UTF-8 byte-order mark at the start is skipped. Keys:
 *   kernel    = path of the Linux EFI-stub image (required)
 *   initrd    = path of the initramfs (optional)
 *   cmdline   = kernel command line (optional)
 *   memory    = hypervisor memory, bytes with optional K/M/G suffix (default 64M, 16M..4G)
 *   log_level = error | warn | info | debug (default info)
 *   on_fail   = native | halt: what to do when virtualization is impossible (default native)
 *   on_panic  = halt | reset | bochs-shutdown: how the hypervisor stops (default halt)
 *   serial    = I/O port of the hypervisor's log UART, or none (default 0x3f8)
 * Paths are relative to the directory holding dunehv.efi unless they start with '\'. */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include "core/types.h"

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
enum on_fail { ON_FAIL_NATIVE = 0, ON_FAIL_HALT = 1 };
enum on_panic { ON_PANIC_HALT = 0, ON_PANIC_RESET = 1, ON_PANIC_BOCHS_SHUTDOWN = 2 };

#define CONFIG_PATH_MAX 256
#define CONFIG_CMDLINE_MAX 1024
#define CONFIG_ERROR_LINE 160 /* one error */
#define CONFIG_FILE_MAX (1 << 20) /* the loader reads no larger dunehv.cfg */
#define CONFIG_ERROR_MAX 1024 /* all of them, one per line */
#define CONFIG_MEMORY_DEFAULT (64ull << 20)
#define CONFIG_MEMORY_MIN (16ull << 20)
#define CONFIG_MEMORY_MAX (4ull << 30)

struct hv_config {
	char kernel[CONFIG_PATH_MAX];
	char initrd[CONFIG_PATH_MAX];
	char cmdline[CONFIG_CMDLINE_MAX];
	u64 memory_bytes;   /* rounded up to 2 MiB */
	enum log_level log_level;
	enum on_fail on_fail;
	enum on_panic on_panic;
	u16 serial_port;    /* 0 = no serial log */
	bool hypervisor;    /* false (hypervisor = off): Linux boots natively, as with on_fail = native */
	bool test_hooks;    /* test_hooks = on: the DUNEHV_HC_TEST_* hypercalls (test suite only) */
	bool mitigations;   /* mitigations = off: no speculation barriers (arch/x86/spec_barriers.h), for benchmarks */
};

/* Fills *cfg with defaults. */
void config_defaults(struct hv_config *cfg);

/* Parses text (len bytes, need not be NUL-terminated) into *cfg, which starts
 * from the defaults. Returns 0, or -1 with every error in err, one line each
 * ("line N: ...", an unknown key with the nearest valid one, limits stated),
 * and "(and N more)" where err is full; every valid line is still applied, so
 * on_fail holds the user's choice even when another line is bad. */
int config_parse(const char *text, size_t len, struct hv_config *cfg, char *err, size_t errlen);

const char *config_log_level_name(enum log_level l);
const char *config_on_fail_name(enum on_fail f);
const char *config_on_panic_name(enum on_panic p);

#endif
