/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's C shim (pf/shim.c): one out-of-line wrapper per static inline function of the
 * socket layer that pf/ calls. Each is named rust_pf_demo_<inline>; the generated bindings
 * give it to Rust under the inline's own name (Kbuild, cmd_pf_bindgen).
 */
#ifndef RUST_PF_DEMO_SHIM_H
#define RUST_PF_DEMO_SHIM_H

#include <linux/types.h>

struct msghdr;
struct net;
struct seq_file;
struct sk_buff;
struct sk_buff_head;
struct sock;
struct module;
struct rust_pf_demo_protosw;
struct socket;
struct file;
struct poll_table_struct;
struct sk_buff_head;
struct proc_dir_entry;
struct seq_operations;

void rust_pf_demo_sock_hold(struct sock *sk);
void rust_pf_demo_sock_put(struct sock *sk);
void rust_pf_demo_sock_orphan(struct sock *sk);
bool rust_pf_demo_sock_flag(const struct sock *sk, int flag);
void rust_pf_demo___net_timestamp(struct sk_buff *skb);
void *rust_pf_demo_net_generic(const struct net *net, unsigned int id);
struct net *rust_pf_demo_sock_net(const struct sock *sk);
int rust_pf_demo_sk_rmem_alloc_get(const struct sock *sk);
void rust_pf_demo_sock_recv_cmsgs(struct msghdr *msg, struct sock *sk, struct sk_buff *skb);
size_t rust_pf_demo_msg_data_left(struct msghdr *msg);
int rust_pf_demo_memcpy_to_msg(struct msghdr *msghdr_to, const void *data_from, int data_len);
struct net *rust_pf_demo_seq_file_single_net(struct seq_file *seq);
struct net *rust_pf_demo_seq_file_net(struct seq_file *seq);
/* proc_create_net() (a macro): a seq_file whose private state is a struct seq_net_private. */
struct proc_dir_entry *rust_pf_demo_proc_create_net(const char *name, umode_t mode,
						    struct proc_dir_entry *parent,
						    const struct seq_operations *ops);
bool rust_pf_demo_try_module_get(struct module *module);
void rust_pf_demo_sock_graft(struct sock *sk, struct socket *parent);
void rust_pf_demo_sock_poll_wait(struct file *filp, struct socket *sock,
				 struct poll_table_struct *p);
int rust_pf_demo_sk_wmem_alloc_get(const struct sock *sk);
bool rust_pf_demo_sock_writeable(const struct sock *sk);
/*
 * Two whose C API changed after 6.12, the same call on every kernel here: sock_i_ino() is an
 * exported function returning unsigned long on 6.12, an inline returning u64 on 7.x;
 * sock_queue_rcv_skb() is the inline over sock_queue_rcv_skb_reason() on both, which 7.x
 * changed to return the drop reason (the inline maps it to the errno).
 */
u64 rust_pf_demo_sock_i_ino(struct sock *sk);
int rust_pf_demo_sock_queue_rcv_skb(struct sock *sk, struct sk_buff *skb);
/*
 * sk_filter(): 6.12's sk_filter_trim_cap() returns an errno, 7.x's the drop reason; the inline
 * gives a negative errno for a dropped buffer on both.
 */
int rust_pf_demo_sk_filter(struct sock *sk, struct sk_buff *skb);
/*
 * The size or offset the kernel's C compiler gives to `what` ("sizeof(struct net)",
 * "offsetof(struct net, proc_net)", ...), (size_t)-1 for an expression not in the table:
 * pf/layout.rs compares them with the generated bindings before registering.
 */
size_t rust_pf_demo_layout(const char *what);
/* Not an inline of its own: skb_peek() under the queue's lock, the head buffer's length (-1: empty). */
long rust_pf_demo_skb_peek_len(struct sk_buff_head *list);
void rust_pf_demo_sk_wake_async(const struct sock *sk, int how, int band);
void rust_pf_demo_sk_set_nospace(struct sock *sk);
/* Not wrappers: the wake-up of unix_write_space(), and unix_inq_len()'s sum (pf/shim.c). */
void rust_pf_demo_write_space_wake(struct sock *sk);
unsigned long rust_pf_demo_skb_queue_bytes(struct sk_buff_head *list);
/* send_sig(SIGPIPE, current, 0), as a stream protocol's send on a shut connection. */

/*
 * The family module's protocol switch API (exported by rust_pf_demo.ko only, built with
 * RUST_PF_DEMO_EXPORTS): a protocol module adds its entry (pf/family.rs, struct ProtoSw) at init
 * and removes it at exit. Calling them makes modpost record the dependency on rust_pf_demo.
 */
int rust_pf_demo_protosw_register(struct rust_pf_demo_protosw *sw);
void rust_pf_demo_protosw_unregister(struct rust_pf_demo_protosw *sw);

#endif
