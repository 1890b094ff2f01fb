/* dunehv.cfg parser: see config.h for the format. Pure C, no allocation. */
#include "core/config.h"

#include <stdio.h>
#include <string.h>

#define LINE_MAX_BYTES 1200

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};
static const char *const on_fail_names[] = {"native", "halt"};
static const char *const on_panic_names[] = {"halt", "reset", "bochs-shutdown"};

const char *config_log_level_name(enum log_level l) { return log_level_names[l]; }
const char *config_on_fail_name(enum on_fail f) { return on_fail_names[f]; }
const char *config_on_panic_name(enum on_panic p) { return on_panic_names[p]; }

void config_defaults(struct hv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory_bytes = CONFIG_MEMORY_DEFAULT;
	cfg->log_level = LOG_INFO;
	cfg->on_fail = ON_FAIL_NATIVE;
	cfg->on_panic = ON_PANIC_HALT;
	cfg->serial_port = 0x3f8;
	cfg->hypervisor = true;
	cfg->mitigations = true;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Index of name in names[], or -1. */
static int lookup_name(const char *value, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (strcmp(value, names[i]) == 0)
			return i;
	return -1;
}

/* Parses an unsigned number (decimal or 0x hex) with an optional K/M/G suffix. */
static bool parse_size(const char *s, u64 *out)
{
	u64 v = 0, base = 10;
	int digits = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++, digits++) {
		u64 d;
		if (*s >= '0' && *s <= '9')
			d = (u64)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (u64)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (u64)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (!digits)
		return false;
	u64 shift = 0;
	if (*s == 'K' || *s == 'k')
		shift = 10;
	else if (*s == 'M' || *s == 'm')
		shift = 20;
	else if (*s == 'G' || *s == 'g')
		shift = 30;
	if (shift) {
		s++;
		if (v > (UINT64_MAX >> shift))
			return false;
		v <<= shift;
	}
	if (*s)
		return false;
	*out = v;
	return true;
}

static bool copy_string(char *dst, size_t cap, const char *value)
{
	size_t n = strlen(value);
	if (n >= cap)
		return false;
	memcpy(dst, value, n + 1);
	return true;
}

enum key_id {
	KEY_KERNEL, KEY_INITRD, KEY_CMDLINE, KEY_MEMORY, KEY_LOG_LEVEL, KEY_ON_FAIL, KEY_ON_PANIC, KEY_SERIAL, KEY_HYPERVISOR,
	KEY_TEST_HOOKS, KEY_MITIGATIONS, KEY_COUNT
};
static const char *const key_names[KEY_COUNT] = {"kernel",  "initrd",   "cmdline", "memory",    "log_level",
						 "on_fail", "on_panic", "serial",  "hypervisor", "test_hooks",
						 "mitigations"};
static const char *const on_off_names[] = {"off", "on"};

static const char *set_on_off(bool *field, const char *value)
{
	int i = lookup_name(value, on_off_names, 2);
	if (i < 0)
		return "expected on or off";
	*field = i == 1;
	return NULL;
}

/* Applies one key; returns NULL or a reason (the value is quoted by the caller). */
static const char *apply_key(struct hv_config *cfg, enum key_id key, const char *value)
{
	u64 n;
	int i;
	switch (key) {
	case KEY_KERNEL:
		if (!value[0])
			return "kernel path is empty";
		return copy_string(cfg->kernel, sizeof(cfg->kernel), value) ? NULL : "path too long";
	case KEY_INITRD:
		return copy_string(cfg->initrd, sizeof(cfg->initrd), value) ? NULL : "path too long";
	case KEY_CMDLINE:
		return copy_string(cfg->cmdline, sizeof(cfg->cmdline), value) ? NULL : "command line too long";
	case KEY_MEMORY:
		if (!parse_size(value, &n))
			return "not a size (use e.g. 64M)";
		if (n < CONFIG_MEMORY_MIN || n > CONFIG_MEMORY_MAX)
			return "out of range 16M..4G";
		cfg->memory_bytes = ALIGN_UP(n, SIZE_2M);
		return NULL;
	case KEY_LOG_LEVEL:
		if ((i = lookup_name(value, log_level_names, 4)) < 0)
			return "expected error, warn, info or debug";
		cfg->log_level = (enum log_level)i;
		return NULL;
	case KEY_ON_FAIL:
		if ((i = lookup_name(value, on_fail_names, 2)) < 0)
			return "expected native or halt";
		cfg->on_fail = (enum on_fail)i;
		return NULL;
	case KEY_ON_PANIC:
		if ((i = lookup_name(value, on_panic_names, 3)) < 0)
			return "expected halt, reset or bochs-shutdown";
		cfg->on_panic = (enum on_panic)i;
		return NULL;
	case KEY_SERIAL:
		if (strcmp(value, "none") == 0) {
			cfg->serial_port = 0;
			return NULL;
		}
		if (!parse_size(value, &n) || n == 0 || n > 0xfff8)
			return "expected an I/O port like 0x3f8, or none";
		cfg->serial_port = (u16)n;
		return NULL;
	case KEY_HYPERVISOR:
		return set_on_off(&cfg->hypervisor, value);
	case KEY_TEST_HOOKS:
		return set_on_off(&cfg->test_hooks, value);
	case KEY_MITIGATIONS:
		return set_on_off(&cfg->mitigations, value);
	case KEY_COUNT:
		break;
	}
	return "internal error";
}

/* Records the first error only. */
static void set_error(char *err, size_t errlen, bool *failed, unsigned line, const char *what, const char *detail)
{
	if (*failed)
		return;
	*failed = true;
	if (err && errlen)
		snprintf(err, errlen, "line %u: %s%s%s", line, what, detail ? ": " : "", detail ? detail : "");
}

int config_parse(const char *text, size_t len, struct hv_config *cfg, char *err, size_t errlen)
{
	bool seen[KEY_COUNT] = {false};
	bool failed = false;
	unsigned line_no = 0;
	size_t pos = 0;
	char line[LINE_MAX_BYTES + 1];
	char detail[96];

	config_defaults(cfg);
	if (err && errlen)
		err[0] = '\0';

	while (pos < len) {
		size_t start = pos, n;
		while (pos < len && text[pos] != '\n')
			pos++;
		n = pos - start;
		pos++; /* skip '\n' */
		line_no++;
		if (n > LINE_MAX_BYTES) {
			set_error(err, errlen, &failed, line_no, "line too long", NULL);
			continue;
		}
		memcpy(line, text + start, n);
		line[n] = '\0';
		if (memchr(text + start, '\0', n)) {
			set_error(err, errlen, &failed, line_no, "NUL byte in file (not a text file?)", NULL);
			continue;
		}
		/* trim */
		char *s = line, *e = line + n;
		while (is_space(*s))
			s++;
		while (e > s && is_space(e[-1]))
			*--e = '\0';
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			set_error(err, errlen, &failed, line_no, "expected 'key = value'", s);
			continue;
		}
		char *key_end = eq;
		while (key_end > s && is_space(key_end[-1]))
			key_end--;
		*key_end = '\0';
		char *value = eq + 1;
		while (is_space(*value))
			value++;
		size_t vlen = strlen(value);
		if (vlen && value[0] == '"') {
			if (vlen < 2 || value[vlen - 1] != '"') {
				set_error(err, errlen, &failed, line_no, "unterminated quote in value of", s);
				continue;
			}
			value[vlen - 1] = '\0';
			value++;
		}
		int key = lookup_name(s, key_names, KEY_COUNT);
		if (key < 0) {
			set_error(err, errlen, &failed, line_no, "unknown key", s);
			continue;
		}
		if (seen[key]) {
			set_error(err, errlen, &failed, line_no, "key given twice", s);
			continue;
		}
		seen[key] = true;
		const char *why = apply_key(cfg, (enum key_id)key, value);
		if (why) {
			snprintf(detail, sizeof(detail), "%.24s = \"%.24s\": %.40s", s, value, why);
			set_error(err, errlen, &failed, line_no, "bad value", detail);
		}
	}
	if (!failed && !cfg->kernel[0]) {
		failed = true;
		if (err && errlen)
			snprintf(err, errlen, "missing required key: kernel");
	}
	return failed ? -1 : 0;
}
