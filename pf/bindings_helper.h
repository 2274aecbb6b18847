/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C API pf/ uses, for the module's own bindgen run (Kbuild: pf/bindings_generated.rs).
 * Only what an allowlist in pf/bindgen_parameters names is generated from these headers,
 * plus the types those items reach.
 */

#include <linux/net.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "shim.h"

/* Macros with casts that bindgen cannot evaluate: typed constants it can (as rust/). */
const gfp_t RUST_PF_DEMO_CONST_GFP_KERNEL = GFP_KERNEL;
const gfp_t RUST_PF_DEMO_CONST_GFP_ATOMIC = GFP_ATOMIC;
/* The bytes of skb->cb a protocol may use: the socket core keeps its own at the end. */
const size_t RUST_PF_DEMO_CONST_SOCK_SKB_CB_OFFSET = SOCK_SKB_CB_OFFSET;
const size_t RUST_PF_DEMO_CONST_PAGE_SIZE = PAGE_SIZE;
const int RUST_PF_DEMO_CONST_MAX_SKB_FRAGS = MAX_SKB_FRAGS;
const size_t RUST_PF_DEMO_CONST_ARCH_SLAB_MINALIGN = ARCH_SLAB_MINALIGN;
