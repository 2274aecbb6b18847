// SPDX-License-Identifier: GPL-2.0
/*
 * rust_pf_demo's C shim: the socket layer's static inline functions that pf/ needs, out of
 * line, so that Rust can call them on any Rust-enabled kernel without patching its
 * rust/helpers. One thin wrapper per inline and nothing else; linked into each module that
 * uses pf/ (not exported). Inlines that only forward to an exported function are called from
 * Rust instead (pf/bindings.rs).
 */

#include <linux/seq_file_net.h>
#include <linux/socket.h>
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

struct net *rust_pf_demo_seq_file_single_net(struct seq_file *seq)
{
	return seq_file_single_net(seq);
}
