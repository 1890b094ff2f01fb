// SPDX-License-Identifier: GPL-2.0
/*
 * dune.ko: /dev/dune (misc minor 233) with upstream Dune's ioctls, on top of
 * the dunehv hypervisor. The module owns no VMX state: every Dune thread is
 * a context in the hypervisor, created, filled and run by hypercalls. It
 * refuses to load unless the kernel runs under dunehv with a matching ABI.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/efi.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include "dune_priv.h"

static bool dunehv_present(u32 *abi)
{
	unsigned int a, b, c, d;

	cpuid(DUNEHV_CPUID_BASE, &a, &b, &c, &d);
	if (b != DUNEHV_CPUID_SIG_EBX || c != DUNEHV_CPUID_SIG_ECX || d != DUNEHV_CPUID_SIG_EDX ||
	    a < DUNEHV_CPUID_VERSION)
		return false;
	*abi = cpuid_eax(DUNEHV_CPUID_VERSION);
	return true;
}

/* Why dunehv's loader started Linux without the hypervisor, if it did: its
 * volatile EFI variable DunehvFallback (boot/main.c), the error line it
 * printed. Empty if there is none or no EFI runtime. */
static void loader_fallback_reason(char *buf, unsigned long size)
{
	static efi_char16_t name[] = {'D', 'u', 'n', 'e', 'h', 'v', 'F', 'a', 'l', 'l', 'b', 'a', 'c', 'k', 0};
	efi_guid_t guid = EFI_GUID(0x3f1c8d2a, 0x6b47, 0x4f0e, 0x9d, 0x15, 0xd0, 0x0e, 0x00, 0x00, 0x01, 0x01);
	unsigned long n = size - 1;
	u32 attr;

	buf[0] = '\0';
	if (!efi_enabled(EFI_RUNTIME_SERVICES) || !efi_rt_services_supported(EFI_RT_SUPPORTED_GET_VARIABLE) ||
	    !efi.get_variable)
		return;
	if (efi.get_variable(name, &guid, &attr, &n, buf) != EFI_SUCCESS)
		n = 0;
	buf[min(n, size - 1)] = '\0';
}

long dune_hv_info(struct dunehv_info *info)
{
	struct dunehv_info *buf = kzalloc(sizeof(*buf), GFP_KERNEL); /* the hypervisor reads it by its physical address */
	long r;

	if (!buf)
		return -ENOMEM;
	r = dunehv_call(DUNEHV_HC_INFO, virt_to_phys(buf), sizeof(*buf), 0, 0);
	*info = *buf;
	kfree(buf);
	return r;
}

static int dune_open(struct inode *inode, struct file *file)
{
	struct dune_file *df = kzalloc(sizeof(*df), GFP_KERNEL);

	if (!df)
		return -ENOMEM;
	mutex_init(&df->lock);
	INIT_LIST_HEAD(&df->vcpus);
	df->token = get_random_u64() | 1;
	file->private_data = df;
	return 0;
}

static int dune_release(struct inode *inode, struct file *file)
{
	struct dune_file *df = file->private_data;
	struct dune_vcpu *v, *tmp;

	/* Only this file's contexts; nobody else's (upstream freed all). */
	list_for_each_entry_safe(v, tmp, &df->vcpus, link) {
		list_del(&v->link);
		dune_vcpu_destroy(v);
	}
	kfree(df);
	return 0;
}

static long dune_get_layout(struct dune_layout __user *ul)
{
	struct dune_layout l;

	if (!current->mm)
		return -EINVAL;
	dune_layout_compute(current->mm, &l);
	return copy_to_user(ul, &l, sizeof(l)) ? -EFAULT : 0;
}

static long dune_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dune_file *df = file->private_data;
	u64 lstar;

	switch (cmd) {
	case DUNE_ENTER:
		return dune_enter(df, file, (struct dune_config __user *)arg);
	case DUNE_RESUME:
		return dune_resume(df, arg);
	case DUNE_GET_SYSCALL:
		/* upstream returns LSTAR as the ioctl's value; glibc truncates it
		 * to int, which works because LSTAR is in the top 2 GiB */
		rdmsrl(MSR_LSTAR, lstar);
		return (long)lstar;
	case DUNE_GET_LAYOUT:
		return dune_get_layout((struct dune_layout __user *)arg);
	case DUNE_TRAP_ENABLE:
		return dune_trap_enable((struct dune_trap_config __user *)arg);
	case DUNE_TRAP_DISABLE:
		return dune_trap_disable();
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dune_fops = {
	.owner = THIS_MODULE,
	.open = dune_open,
	.release = dune_release,
	.unlocked_ioctl = dune_ioctl,
	.compat_ioctl = dune_ioctl,
	.llseek = noop_llseek,
};

/* Who may open /dev/dune: the node's mode as devtmpfs creates it, root:root
 * (its group comes from a udev rule, e.g. GROUP="dune", or from the admin).
 * Read/write bits only; 0660 by default, so that only root and the group
 * the node is given to can create Dune contexts (upstream made it 0666). */
static ushort dev_mode = 0660;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "mode of /dev/dune (read/write bits only, default 0660)");

static struct miscdevice dune_dev = {
	.minor = DUNE_MINOR,
	.name = "dune",
	.fops = &dune_fops,
};

static int __init dune_init(void)
{
	struct dunehv_info info;
	long info_r;
	u32 abi;
	int r;

	if (!dunehv_present(&abi)) {
		char why[256];

		loader_fallback_reason(why, sizeof(why));
		if (why[0])
			pr_err("not loading: this kernel does not run under the dunehv hypervisor: dunehv's loader started "
			       "Linux natively because: %s\n", why);
		else
			pr_err("not loading: this kernel does not run under the dunehv hypervisor (no DuneHV CPUID "
			       "signature)\n");
		return -ENODEV;
	}
	if ((abi >> 16) != DUNEHV_ABI_MAJOR || (abi & 0xffff) < DUNEHV_ABI_MINOR) {
		pr_err("not loading: dunehv ABI %u.%u, this module needs %u.%u or a later minor\n", abi >> 16, abi & 0xffff,
		       DUNEHV_ABI_MAJOR, DUNEHV_ABI_MINOR);
		return -EPROTONOSUPPORT;
	}
	info_r = dune_hv_info(&info);
	if (info_r == -ENOMEM)
		return -ENOMEM;
	if (info_r != sizeof(info)) {
		pr_err("not loading: the hypervisor's INFO call returned %ld\n", info_r);
		return -EIO;
	}
	dune_limits_init(&info);
	if (dev_mode & ~0666) {
		pr_err("not loading: dev_mode=0%o has bits other than read/write (e.g. 0660, 0600, 0666)\n", dev_mode);
		return -EINVAL;
	}
	dune_dev.mode = dev_mode;
	r = misc_register(&dune_dev);
	if (r) {
		pr_err("misc_register(minor %d) failed: %d\n", DUNE_MINOR, r);
		return r;
	}
	dune_debugfs_init();
	pr_info("/dev/dune (mode 0%o) ready on dunehv ABI %u.%u, module %s\n", dev_mode, abi >> 16, abi & 0xffff,
		DUNE_MODULE_VERSION);
	return 0;
}

static void __exit dune_exit(void)
{
	dune_debugfs_exit();
	misc_deregister(&dune_dev);
	dune_trap_exit();
	pr_info("unloaded\n");
}

module_init(dune_init);
module_exit(dune_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Dune ABI (/dev/dune) on the dunehv hypervisor");
MODULE_VERSION(DUNE_MODULE_VERSION);
/* Loaded on the first open of /dev/dune (the kernel asks for
 * char-major-10-233), and the node made at boot from modules.devname by
 * kmod static-nodes before the module is loaded. */
MODULE_ALIAS_MISCDEV(DUNE_MINOR);
MODULE_ALIAS("devname:dune");
