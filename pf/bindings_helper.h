/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C API pf/ uses, for the module's own bindgen run (Kbuild: pf/bindings_generated.rs).
 * Only what an allowlist in pf/bindgen_parameters names is generated from these headers,
 * plus the types those items reach.
 */

#include <linux/fcntl.h>
#include <linux/filter.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "shim.h"

/* Macros with casts that bindgen cannot evaluate: typed constants it can (as rust/). */
const gfp_t RUST_PF_DEMO_CONST_GFP_KERNEL = GFP_KERNEL;
const gfp_t RUST_PF_DEMO_CONST_GFP_ATOMIC = GFP_ATOMIC;
/* The bytes of skb->cb a protocol may use: the socket core keeps its own at the end. */
const size_t RUST_PF_DEMO_CONST_SOCK_SKB_CB_OFFSET = SOCK_SKB_CB_OFFSET;
const size_t RUST_PF_DEMO_CONST_PAGE_SIZE = PAGE_SIZE;
const int RUST_PF_DEMO_CONST_MAX_SKB_FRAGS = MAX_SKB_FRAGS;
const size_t RUST_PF_DEMO_CONST_ARCH_SLAB_MINALIGN = ARCH_SLAB_MINALIGN;
const long RUST_PF_DEMO_CONST_MAX_SCHEDULE_TIMEOUT = MAX_SCHEDULE_TIMEOUT;
/* sk_state values a connection-oriented protocol uses (<net/tcp_states.h>, an anonymous enum). */
const unsigned char RUST_PF_DEMO_CONST_TCP_ESTABLISHED = TCP_ESTABLISHED;
const unsigned char RUST_PF_DEMO_CONST_TCP_LISTEN = TCP_LISTEN;
const unsigned char RUST_PF_DEMO_CONST_TCP_CLOSE = TCP_CLOSE;
/* poll() events (<uapi/linux/eventpoll.h>, __poll_t casts). */
const unsigned int RUST_PF_DEMO_CONST_EPOLLIN = (__force unsigned int)EPOLLIN;
const unsigned int RUST_PF_DEMO_CONST_EPOLLPRI = (__force unsigned int)EPOLLPRI;
const unsigned int RUST_PF_DEMO_CONST_EPOLLOUT = (__force unsigned int)EPOLLOUT;
const unsigned int RUST_PF_DEMO_CONST_EPOLLERR = (__force unsigned int)EPOLLERR;
const unsigned int RUST_PF_DEMO_CONST_EPOLLHUP = (__force unsigned int)EPOLLHUP;
const unsigned int RUST_PF_DEMO_CONST_EPOLLRDNORM = (__force unsigned int)EPOLLRDNORM;
const unsigned int RUST_PF_DEMO_CONST_EPOLLWRNORM = (__force unsigned int)EPOLLWRNORM;
const unsigned int RUST_PF_DEMO_CONST_EPOLLWRBAND = (__force unsigned int)EPOLLWRBAND;
const unsigned int RUST_PF_DEMO_CONST_EPOLLRDHUP = (__force unsigned int)EPOLLRDHUP;
/* sk_wake_async() arguments (<linux/net.h>'s anonymous enum, <uapi/asm-generic/siginfo.h>). */
const int RUST_PF_DEMO_CONST_SOCK_WAKE_WAITD = SOCK_WAKE_WAITD;
const int RUST_PF_DEMO_CONST_POLL_IN = POLL_IN;
const int RUST_PF_DEMO_CONST_POLL_HUP = POLL_HUP;
