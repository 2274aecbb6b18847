// SPDX-License-Identifier: GPL-2.0
/*
 * rust_pf_demo's C shim: the socket layer's static inline functions that pf/ needs, out of
 * line, so that Rust can call them on any Rust-enabled kernel without patching its
 * rust/helpers. One thin wrapper per inline; linked into each module that uses pf/ (not
 * exported). The family module (RUST_PF_DEMO_EXPORTS) also exports its protocol switch API. Inlines that only forward to an exported function are called from
 * Rust instead (pf/bindings.rs).
 */

#include <linux/filter.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/proc_fs.h>
#include <linux/sched/signal.h>
#include <linux/seq_file_net.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include "shim.h"

void rust_pf_demo_sock_hold(struct sock *sk)
{
	sock_hold(sk);
}

void rust_pf_demo_sock_put(struct sock *sk)
{
	sock_put(sk);
}

void rust_pf_demo_sock_orphan(struct sock *sk)
{
	sock_orphan(sk);
}

bool rust_pf_demo_sock_flag(const struct sock *sk, int flag)
{
	return sock_flag(sk, flag);
}

void rust_pf_demo___net_timestamp(struct sk_buff *skb)
{
	__net_timestamp(skb);
}

void *rust_pf_demo_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

struct net *rust_pf_demo_sock_net(const struct sock *sk)
{
	return sock_net(sk);
}

int rust_pf_demo_sk_rmem_alloc_get(const struct sock *sk)
{
	return sk_rmem_alloc_get(sk);
}

void rust_pf_demo_sock_recv_cmsgs(struct msghdr *msg, struct sock *sk, struct sk_buff *skb)
{
	sock_recv_cmsgs(msg, sk, skb);
}

size_t rust_pf_demo_msg_data_left(struct msghdr *msg)
{
	return msg_data_left(msg);
}

int rust_pf_demo_memcpy_to_msg(struct msghdr *msghdr_to, const void *data_from, int data_len)
{
	/* memcpy_to_msg() only reads data (copy_to_iter() takes it const). */
	return memcpy_to_msg(msghdr_to, (void *)data_from, data_len);
}

struct net *rust_pf_demo_seq_file_single_net(struct seq_file *seq)
{
	return seq_file_single_net(seq);
}

struct net *rust_pf_demo_seq_file_net(struct seq_file *seq)
{
	return seq_file_net(seq);
}

struct proc_dir_entry *rust_pf_demo_proc_create_net(const char *name, umode_t mode,
						    struct proc_dir_entry *parent,
						    const struct seq_operations *ops)
{
	return proc_create_net(name, mode, parent, ops, sizeof(struct seq_net_private));
}

bool rust_pf_demo_try_module_get(struct module *module)
{
	return try_module_get(module);
}

void rust_pf_demo_sock_graft(struct sock *sk, struct socket *parent)
{
	sock_graft(sk, parent);
}

void rust_pf_demo_sock_poll_wait(struct file *filp, struct socket *sock, poll_table *p)
{
	sock_poll_wait(filp, sock, p);
}

int rust_pf_demo_sk_wmem_alloc_get(const struct sock *sk)
{
	return sk_wmem_alloc_get(sk);
}

void rust_pf_demo_sk_wake_async(const struct sock *sk, int how, int band)
{
	sk_wake_async(sk, how, band);
}

/* sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk): a poll found no room (only with O_ASYNC set). */
void rust_pf_demo_sk_set_nospace(struct sock *sk)
{
	sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
}

/*
 * What unix_write_space() does once unix_writable() holds (the caller checks its own
 * condition): wakes the writers sleeping on the sock's wait queue and signals an O_ASYNC owner
 * that found no room (SOCK_WAKE_SPACE). Called by the socket core (sk_write_space), with the
 * sock live; an orphaned sock has no wait queue (sk_wq NULL).
 */
void rust_pf_demo_write_space_wake(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_sync_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND);
	sk_wake_async_rcu(sk, SOCK_WAKE_SPACE, POLL_OUT);
	rcu_read_unlock();
}

/*
 * The bytes of every buffer on `list` (unix_inq_len() for SOCK_SEQPACKET), under the queue's
 * lock: a loop over the list, which Rust cannot take (spin_lock_irqsave is a macro).
 */
unsigned long rust_pf_demo_skb_queue_bytes(struct sk_buff_head *list)
{
	struct sk_buff *skb;
	unsigned long amount = 0, flags;

	spin_lock_irqsave(&list->lock, flags);
	skb_queue_walk(list, skb)
		amount += skb->len;
	spin_unlock_irqrestore(&list->lock, flags);
	return amount;
}

/*
 * Not one inline but two under a lock: skb_peek() under the queue's lock (as
 * unix_release_sock() peeks at the head), so that the head buffer cannot be dequeued and freed
 * before its length is read.
 */
long rust_pf_demo_skb_peek_len(struct sk_buff_head *list)
{
	unsigned long flags;
	struct sk_buff *skb;
	long len = -1;

	spin_lock_irqsave(&list->lock, flags);
	skb = skb_peek(list);
	if (skb)
		len = skb->len;
	spin_unlock_irqrestore(&list->lock, flags);
	return len;
}

u64 rust_pf_demo_sock_i_ino(struct sock *sk)
{
	return sock_i_ino(sk);
}

int rust_pf_demo_sock_queue_rcv_skb(struct sock *sk, struct sk_buff *skb)
{
	return sock_queue_rcv_skb(sk, skb);
}

int rust_pf_demo_sk_filter(struct sock *sk, struct sk_buff *skb)
{
	return sk_filter(sk, skb);
}

#define RPD_SIZE(type) { "sizeof(struct " #type ")", sizeof(struct type) }
#define RPD_OFFSET(type, field) { "offsetof(struct " #type ", " #field ")", offsetof(struct type, field) }

size_t rust_pf_demo_layout(const char *what)
{
	static const struct {
		const char *what;
		size_t value;
	} layout[] = {
		RPD_SIZE(net),
		RPD_OFFSET(net, proc_net),
		RPD_OFFSET(net, user_ns),
		RPD_SIZE(sock),
		RPD_OFFSET(sock, sk_state),
		RPD_OFFSET(sock, sk_receive_queue),
		RPD_OFFSET(sock, sk_err),
		RPD_OFFSET(sock, sk_shutdown),
		RPD_OFFSET(sock, sk_protocol),
		RPD_OFFSET(sock, sk_type),
		RPD_OFFSET(sock, sk_ack_backlog),
		RPD_OFFSET(sock, sk_max_ack_backlog),
		RPD_OFFSET(sock, sk_rcvtimeo),
		RPD_OFFSET(sock, sk_sndtimeo),
		RPD_OFFSET(sock, sk_drops),
		RPD_OFFSET(sock, sk_state_change),
		RPD_OFFSET(sock, sk_data_ready),
		RPD_OFFSET(sock, sk_destruct),
		RPD_SIZE(socket),
		RPD_OFFSET(socket, state),
		RPD_OFFSET(socket, type),
		RPD_OFFSET(socket, sk),
		RPD_OFFSET(socket, ops),
		RPD_SIZE(msghdr),
		RPD_OFFSET(msghdr, msg_name),
		RPD_OFFSET(msghdr, msg_namelen),
		RPD_OFFSET(msghdr, msg_iter),
		RPD_OFFSET(msghdr, msg_controllen),
		RPD_OFFSET(msghdr, msg_flags),
		RPD_SIZE(sk_buff),
		RPD_OFFSET(sk_buff, cb),
		RPD_OFFSET(sk_buff, len),
		RPD_OFFSET(sk_buff, data_len),
		RPD_SIZE(proto),
		RPD_OFFSET(proto, init),
		RPD_OFFSET(proto, obj_size),
		RPD_OFFSET(proto, owner),
		RPD_OFFSET(proto, name),
		RPD_SIZE(proto_ops),
		RPD_OFFSET(proto_ops, owner),
		RPD_OFFSET(proto_ops, release),
		RPD_OFFSET(proto_ops, bind),
		RPD_OFFSET(proto_ops, poll),
		RPD_OFFSET(proto_ops, sendmsg),
		RPD_OFFSET(proto_ops, recvmsg),
		RPD_OFFSET(proto_ops, mmap),
		RPD_SIZE(pernet_operations),
		RPD_OFFSET(pernet_operations, init),
		RPD_OFFSET(pernet_operations, exit),
		RPD_OFFSET(pernet_operations, id),
		RPD_OFFSET(pernet_operations, size),
		RPD_OFFSET(proto_accept_arg, flags),
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(layout); i++)
		if (!strcmp(layout[i].what, what))
			return layout[i].value;
	return (size_t)-1;
}

#ifdef RUST_PF_DEMO_EXPORTS
/* Defined by module_family! (pf/mod.rs) in the family's Rust crate. */
int rust_pf_demo_rs_protosw_register(struct rust_pf_demo_protosw *sw);
void rust_pf_demo_rs_protosw_unregister(struct rust_pf_demo_protosw *sw);

int rust_pf_demo_protosw_register(struct rust_pf_demo_protosw *sw)
{
	return rust_pf_demo_rs_protosw_register(sw);
}
EXPORT_SYMBOL_GPL(rust_pf_demo_protosw_register);

void rust_pf_demo_protosw_unregister(struct rust_pf_demo_protosw *sw)
{
	rust_pf_demo_rs_protosw_unregister(sw);
}
EXPORT_SYMBOL_GPL(rust_pf_demo_protosw_unregister);
#endif
