#include <stdio.h>

#include "core/config.h"
#include "unit.h"

static int parse(const char *text, struct hv_config *cfg, char *err)
{
	return config_parse(text, strlen(text), cfg, err, CONFIG_ERROR_MAX);
}

UNIT_TEST(full_config)
{
	struct hv_config c;
	char err[CONFIG_ERROR_MAX];
	const char *text = "# comment\n\nkernel = vmlinuz\r\ninitrd=\\EFI\\x\\initrd.img\n"
			   "cmdline = \"console=ttyS0 quiet\"\nmemory = 96M\nlog_level = debug\non_fail = halt\n"
			   "on_panic = bochs-shutdown\nserial = 0x2f8\nhypervisor = off\n";
	CHECK_EQ(parse(text, &c, err), 0);
	CHECK(strcmp(c.kernel, "vmlinuz") == 0);
	CHECK(strcmp(c.initrd, "\\EFI\\x\\initrd.img") == 0);
	CHECK(strcmp(c.cmdline, "console=ttyS0 quiet") == 0);
	CHECK_EQ(c.memory_bytes, 96ull << 20);
	CHECK_EQ(c.log_level, LOG_DEBUG);
	CHECK_EQ(c.on_fail, ON_FAIL_HALT);
	CHECK_EQ(c.on_panic, ON_PANIC_BOCHS_SHUTDOWN);
	CHECK_EQ(c.serial_port, 0x2f8);
	CHECK(!c.hypervisor);
	CHECK_EQ(err[0], 0);
}

UNIT_TEST(defaults_and_rounding)
{
	struct hv_config c;
	char err[CONFIG_ERROR_MAX];
	CHECK_EQ(parse("kernel=k\nmemory=17M\nserial=none", &c, err), 0);
	CHECK_EQ(c.memory_bytes, 18ull << 20); /* rounded up to 2 MiB */
	CHECK_EQ(c.serial_port, 0);
	CHECK_EQ(parse("kernel=k", &c, err), 0);
	CHECK_EQ(c.memory_bytes, CONFIG_MEMORY_DEFAULT);
	CHECK_EQ(c.on_fail, ON_FAIL_NATIVE);
	CHECK_EQ(c.on_panic, ON_PANIC_HALT);
	CHECK_EQ(c.log_level, LOG_INFO);
	CHECK_EQ(c.serial_port, 0x3f8);
	CHECK(c.hypervisor);
	CHECK_EQ(parse("kernel=k\nhypervisor=on", &c, err), 0);
	CHECK(c.hypervisor);
	CHECK(!c.test_hooks); /* off unless asked for */
	CHECK_EQ(parse("kernel=k\ntest_hooks = on", &c, err), 0);
	CHECK(c.test_hooks);
	CHECK(c.mitigations); /* on unless turned off */
	CHECK_EQ(parse("kernel=k\nmitigations = off", &c, err), 0);
	CHECK(!c.mitigations);
	CHECK_EQ(parse("kernel=k\nmemory=0x2000000", &c, err), 0);
	CHECK_EQ(c.memory_bytes, 32ull << 20);
	CHECK_EQ(parse("kernel=k\nmemory=1g", &c, err), 0);
	CHECK_EQ(c.memory_bytes, 1ull << 30);
}

struct bad_case {
	const char *text, *expect;
};

UNIT_TEST(bad_inputs_give_one_line_reasons) /* one error each */
{
	static const struct bad_case cases[] = {
		{"", "missing required key: kernel"},
		{"initrd = x\n", "missing required key: kernel"},
		{"kernel = k\nbogus = 1\n", "line 2: unknown key: bogus"},
		{"kernal = k\nkernel = k\n", "line 1: unknown key: kernal (did you mean kernel?)"},
		{"kernel = k\nlog-level = info\n", "line 2: unknown key: log-level (did you mean log_level?)"},
		{"kernel = k\nmem = 64M\n", "line 2: unknown key: mem (did you mean memory?)"},
		{"kernel = \"k\" x\nkernel = k\n", "line 1: bad value of: kernel: text after the closing quote"},
		{"kernel = k\nkernel = j\n", "line 2: key given twice: kernel"},
		{"kernel = k\nmemory = lots\n", "line 2: bad value: memory = \"lots\": not a size"},
		{"kernel = k\nmemory = 1M\n", "out of range 16M..4G"},
		{"kernel = k\nmemory = 8G\n", "out of range 16M..4G"},
		{"kernel = k\nmemory = 99999999999999999999999\n", "not a size"},
		{"kernel = k\nmemory = 64Q\n", "not a size"},
		{"kernel = k\nlog_level = loud\n", "expected error, warn, info or debug"},
		{"kernel = k\non_fail = maybe\n", "expected native or halt"},
		{"kernel = k\non_panic = explode\n", "expected halt, reset or bochs-shutdown"},
		{"kernel = k\nserial = 0\n", "expected an I/O port"},
		{"kernel = k\nhypervisor = maybe\n", "line 2: bad value: hypervisor = \"maybe\": expected on or off"},
		{"kernel = k\ntest_hooks = yes\n", "line 2: bad value: test_hooks = \"yes\": expected on or off"},
		{"kernel = k\nmitigations = auto\n", "line 2: bad value: mitigations = \"auto\": expected on or off"},
		{"kernel = k\nserial = 0x10000\n", "expected an I/O port"},
		{"kernel = k\njust words\n", "line 2: expected 'key = value'"},
		{"kernel = \"k\nkernel = k\n", "line 1: bad value of: kernel: unterminated quote"},
		{"kernel =\n", "kernel path is empty"},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hv_config c;
		char err[CONFIG_ERROR_MAX];
		CHECK_EQ(parse(cases[i].text, &c, err), -1);
		CHECK_STR_CONTAINS(err, cases[i].expect);
		CHECK(strchr(err, '\n') == NULL);
	}
}

UNIT_TEST(long_lines_nul_bytes_and_long_values)
{
	struct hv_config c;
	char err[CONFIG_ERROR_MAX];
	char big[3000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "kernel = ", 9);
	CHECK_EQ(config_parse(big, sizeof(big), &c, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "line 1: line too long");
	static const char nul[] = "kernel = k\0x\n";
	CHECK_EQ(config_parse(nul, sizeof(nul) - 1, &c, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "NUL byte");
	char path[400] = "kernel = ";
	memset(path + 9, 'p', 300);
	CHECK_EQ(parse(path, &c, err), -1);
	CHECK_STR_CONTAINS(err, "path too long (at most 255 bytes)");
	/* a short error buffer truncates but stays a C string */
	char tiny[8];
	CHECK_EQ(config_parse("bogus=1", 7, &c, tiny, sizeof(tiny)), -1);
	CHECK_EQ(strlen(tiny), 7);
}

UNIT_TEST(valid_lines_apply_even_when_another_is_bad)
{
	struct hv_config c;
	char err[CONFIG_ERROR_MAX];
	CHECK_EQ(parse("kernel = k\nmemory = nope\non_fail = halt\n", &c, err), -1);
	CHECK_EQ(c.on_fail, ON_FAIL_HALT);
	CHECK(strcmp(c.kernel, "k") == 0);
	CHECK_STR_CONTAINS(err, "line 2");
}

UNIT_TEST(every_error_is_reported)
{
	struct hv_config c;
	char err[CONFIG_ERROR_MAX];
	CHECK_EQ(parse("kernl = k\nbogus = 1\nmemory = 1M\nlog_level = loud\non_fail = halt\n", &c, err), -1);
	CHECK_STR_CONTAINS(err, "line 1: unknown key: kernl (did you mean kernel?)\n");
	CHECK_STR_CONTAINS(err, "line 2: unknown key: bogus\n");
	CHECK_STR_CONTAINS(err, "line 3: bad value: memory = \"1M\": out of range 16M..4G\n");
	CHECK_STR_CONTAINS(err, "line 4: bad value: log_level = \"loud\": expected error, warn, info or debug\n");
	CHECK_STR_CONTAINS(err, "missing required key: kernel");
	CHECK_EQ(c.on_fail, ON_FAIL_HALT); /* the good line still applies */
	/* more errors than fit: the first ones, then a count, within the buffer */
	char many[4000] = "kernel = k\n";
	for (int i = 0; i < 100; i++)
		strcat(many, "nonsense = 1\n");
	char small[300];
	CHECK_EQ(config_parse(many, strlen(many), &c, small, sizeof(small)), -1);
	CHECK_STR_CONTAINS(small, "line 2: unknown key: nonsense");
	CHECK_STR_CONTAINS(small, "more)");
	CHECK(strlen(small) < sizeof(small));
}

UNIT_TEST(comments_after_values_quotes_and_bom)
{
	struct hv_config c;
	char err[CONFIG_ERROR_MAX];
	CHECK_EQ(parse("kernel = vmlinuz # my kernel\ncmdline = \"quiet # not a comment\" # a comment\n"
		       "initrd = a#b\t# the # needs blank space before it\nmemory = 96M# no blank: part of the value\n",
		       &c, err), -1);
	CHECK(strcmp(c.kernel, "vmlinuz") == 0);
	CHECK(strcmp(c.cmdline, "quiet # not a comment") == 0);
	CHECK(strcmp(c.initrd, "a#b") == 0);
	CHECK_STR_CONTAINS(err, "line 4: bad value: memory = \"96M# no blank: part of t...\": not a size");
	CHECK_EQ(parse("\xef\xbb\xbfkernel = k\n", &c, err), 0); /* UTF-8 byte-order mark */
	CHECK(strcmp(c.kernel, "k") == 0);
	CHECK_EQ(parse("kernel = \"\" # empty\n", &c, err), -1);
	CHECK_STR_CONTAINS(err, "kernel path is empty");
}

/* The sample the project ships (run from the project's top, as make test does). */
UNIT_TEST(the_sample_config_parses)
{
	static char text[16384];
	FILE *f = fopen("examples/dunehv.cfg", "rb");
	CHECK(f != NULL);
	if (!f)
		return;
	size_t n = fread(text, 1, sizeof(text), f);
	fclose(f);
	CHECK(n > 0 && n < sizeof(text));
	struct hv_config c;
	char err[CONFIG_ERROR_MAX];
	CHECK_EQ(config_parse(text, n, &c, err, sizeof(err)), 0);
	CHECK_EQ(err[0], 0);
	CHECK(strcmp(c.kernel, "vmlinuz") == 0);
	CHECK(strcmp(c.cmdline, "root=/dev/nvme0n1p2 ro quiet") == 0);
	CHECK_EQ(c.memory_bytes, CONFIG_MEMORY_DEFAULT);
}

const struct unit_test config_tests[] = {
	{"the_sample_config_parses", the_sample_config_parses},
	{"every_error_is_reported", every_error_is_reported},
	{"comments_after_values_quotes_and_bom", comments_after_values_quotes_and_bom},
	{"full_config", full_config},
	{"defaults_and_rounding", defaults_and_rounding},
	{"bad_inputs_give_one_line_reasons", bad_inputs_give_one_line_reasons},
	{"long_lines_nul_bytes_and_long_values", long_lines_nul_bytes_and_long_values},
	{"valid_lines_apply_even_when_another_is_bad", valid_lines_apply_even_when_another_is_bad},
};
const unsigned config_count = sizeof(config_tests) / sizeof(config_tests[0]);
