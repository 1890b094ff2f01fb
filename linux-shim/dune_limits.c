// SPDX-License-Identifier: GPL-2.0
/*
 * What one user and one process may take of the hypervisor's Dune contexts
 * and EPT table pages, so that nobody can deny the rest (module parameters,
 * writable at run time; a change applies to contexts created after it).
 *
 * The hypervisor counts the pages, since only it sees its tables: per
 * context (ept_pages_per_context) and per account, our uid
 * (ept_pages_per_user); and it keeps a reserve of its pool that tables
 * never take, so a creation never fails for want of pages. Here we count
 * contexts per user and per process (an address space). Each refusal gets
 * one rate-limited kernel line naming the limit and its parameter, and an
 * errno: EAGAIN for a count of contexts (as fork's RLIMIT_NPROC), EDQUOT
 * for pages, ENOMEM when the machine has no context slot left.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/cred.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>

#include "dune_priv.h"

static unsigned int max_contexts_per_user = 64;
module_param(max_contexts_per_user, uint, 0644);
MODULE_PARM_DESC(max_contexts_per_user,
		 "Dune contexts (threads in Dune mode) one user may have, all processes (default 64 of the hypervisor's "
		 __stringify(DUNEHV_CTX_MAX) ")");

static unsigned int max_contexts_per_process = 64;
module_param(max_contexts_per_process, uint, 0644);
MODULE_PARM_DESC(max_contexts_per_process, "Dune contexts one process (address space) may have (default 64)");

static unsigned int ept_pages_per_context = DUNE_EPT_QUOTA;
module_param(ept_pages_per_context, uint, 0644);
MODULE_PARM_DESC(ept_pages_per_context,
		 "EPT table pages one context may hold (default " __stringify(DUNE_EPT_QUOTA) ", at most " __stringify(
			 DUNEHV_CTX_MAX_EPT_PAGES) "); past it the context's tables are freed and refilled");

static unsigned int ept_pages_per_user;
module_param(ept_pages_per_user, uint, 0644);
MODULE_PARM_DESC(ept_pages_per_user,
		 "hypervisor pages (EPT tables, and 2 per context) one user's contexts may hold together (0 at load: a "
		 "quarter of what the hypervisor's pool can give Dune; 0 set later: no limit)");

static DEFINE_MUTEX(limits_lock);
static LIST_HEAD(charged_vcpus); /* every context created, until destroyed */

void dune_limits_init(const struct dunehv_info *info)
{
	if (!ept_pages_per_user && info->pool_pages_free > info->pool_pages_reserved)
		ept_pages_per_user = (unsigned int)min_t(u64, (info->pool_pages_free - info->pool_pages_reserved) / 4,
							 UINT_MAX);
	pr_info("limits: %u contexts per user, %u per process, %u EPT pages per context, %u hypervisor pages per user\n",
		max_contexts_per_user, max_contexts_per_process, ept_pages_per_context, ept_pages_per_user);
}

void dune_limits_for_each(void (*fn)(struct dune_vcpu *v, void *arg), void *arg)
{
	struct dune_vcpu *v;

	mutex_lock(&limits_lock);
	list_for_each_entry(v, &charged_vcpus, limits_link)
		fn(v, arg);
	mutex_unlock(&limits_lock);
}

int dune_limits_charge(struct dune_vcpu *v, struct dunehv_ctx_create *cr)
{
	unsigned int user = 0, process = 0, quota = READ_ONCE(ept_pages_per_context);
	struct dune_vcpu *o;
	int r = 0;

	if (!quota || quota > DUNEHV_CTX_MAX_EPT_PAGES) {
		pr_info_ratelimited("not creating a context: ept_pages_per_context=%u is outside 1..%u\n", quota,
				    DUNEHV_CTX_MAX_EPT_PAGES);
		return -EINVAL;
	}
	v->uid = current_uid();
	mutex_lock(&limits_lock);
	list_for_each_entry(o, &charged_vcpus, limits_link) {
		user += uid_eq(o->uid, v->uid);
		process += o->mm == v->mm;
	}
	if (user >= READ_ONCE(max_contexts_per_user)) {
		pr_info_ratelimited("pid %d (uid %u): not creating a context: the user has %u, its limit (module parameter max_contexts_per_user)\n",
				    task_pid_nr(current), from_kuid(&init_user_ns, v->uid), user);
		r = -EAGAIN;
	} else if (process >= READ_ONCE(max_contexts_per_process)) {
		pr_info_ratelimited("pid %d: not creating a context: the process has %u, its limit (module parameter max_contexts_per_process)\n",
				    task_pid_nr(current), process);
		r = -EAGAIN;
	} else {
		list_add(&v->limits_link, &charged_vcpus);
		v->charged = true;
	}
	mutex_unlock(&limits_lock);
	cr->ept_page_quota = quota;
	cr->account = from_kuid(&init_user_ns, v->uid);
	cr->account_page_limit = READ_ONCE(ept_pages_per_user);
	return r;
}

void dune_limits_uncharge(struct dune_vcpu *v)
{
	if (!v->charged)
		return;
	mutex_lock(&limits_lock);
	list_del(&v->limits_link);
	mutex_unlock(&limits_lock);
	v->charged = false;
}

/* Why the hypervisor refused a creation, in one line. */
int dune_limits_explain_create(struct dune_vcpu *v, long r)
{
	if (r == -EDQUOT)
		pr_info_ratelimited("pid %d (uid %u): not creating a context: the user's contexts hold %u hypervisor pages, its limit (module parameter ept_pages_per_user)\n",
				    task_pid_nr(current), from_kuid(&init_user_ns, v->uid), READ_ONCE(ept_pages_per_user));
	else if (r == -ENOMEM)
		pr_info_ratelimited("pid %d: not creating a context: the hypervisor has no context slot (of %u) or page left\n",
				    task_pid_nr(current), DUNEHV_CTX_MAX);
	else
		pr_info_ratelimited("pid %d: creating a context failed: %ld\n", task_pid_nr(current), r);
	return r == -EDQUOT || r == -ENOMEM ? (int)r : -EIO;
}

/* Why a page could not be mapped even after the context's own tables were
 * freed (or fewer than DUNE_ZAP_MIN_PROGRESS since), in one line. */
void dune_limits_explain_map(struct dune_vcpu *v, long r)
{
	if (r == -EDQUOT)
		pr_info_ratelimited("pid %d (uid %u): out of EPT table pages with its own freed: the user's other contexts hold the rest of ept_pages_per_user=%u\n",
				    task_pid_nr(current), from_kuid(&init_user_ns, v->uid), READ_ONCE(ept_pages_per_user));
	else
		pr_info_ratelimited("pid %d: out of EPT table pages with its own freed: the hypervisor's pool is down to its reserve (%ld)\n",
				    task_pid_nr(current), r);
}
