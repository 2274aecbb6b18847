// SPDX-License-Identifier: GPL-2.0

//! The layout check: the sizes and field offsets of the kernel's C structs that pf/ reads,
//! writes or builds from its generated bindings (pf/bindings.rs), compared at registration with
//! the same numbers as the kernel's own C compiler sees them (pf/shim.c,
//! `rust_pf_demo_layout()`, compiled with the kernel's C flags).
//!
//! The bindings are made by bindgen (libclang) from the kernel's headers; the kernel is built by
//! its own compiler, GCC for distribution kernels. Where the two read a struct differently, every
//! access through the bindings goes to the wrong place, silently: 7.x builds the kernel with
//! `-fms-extensions` and embeds `struct ns_tree` in `struct ns_common` as an anonymous member,
//! which bindgen drops, so `struct net` came out 128 bytes short before `proc_net` (see
//! pf/bindgen_parameters). bindgen's layout tests cannot be used (6.12's headers have structs it
//! cannot lay out as libclang does, unused by pf/; Kbuild), and they would only compare with
//! libclang. This compares what pf/ uses with GCC's layout, and a module whose bindings are wrong
//! refuses to load, naming the field.

use super::bindings;
use core::mem::{offset_of, size_of};
use kernel::prelude::*;

/// What pf/ relies on, by the C expression `rust_pf_demo_layout()` knows it by.
macro_rules! layout {
    ($($name:literal => $value:expr,)*) => {
        /// `(name, size or offset in the bindings)`.
        const LAYOUT: &[(&core::ffi::CStr, usize)] = &[$(($name, $value),)*];
    };
}

layout! {
    c"sizeof(struct net)" => size_of::<bindings::net>(),
    c"offsetof(struct net, proc_net)" => offset_of!(bindings::net, proc_net),
    c"offsetof(struct net, user_ns)" => offset_of!(bindings::net, user_ns),
    c"sizeof(struct sock)" => size_of::<bindings::sock>(),
    c"offsetof(struct sock, sk_state)" => offset_of!(bindings::sock, __sk_common.skc_state),
    c"offsetof(struct sock, sk_receive_queue)" => offset_of!(bindings::sock, sk_receive_queue),
    c"offsetof(struct sock, sk_err)" => offset_of!(bindings::sock, sk_err),
    c"offsetof(struct sock, sk_shutdown)" => offset_of!(bindings::sock, sk_shutdown),
    c"offsetof(struct sock, sk_protocol)" => offset_of!(bindings::sock, sk_protocol),
    c"offsetof(struct sock, sk_type)" => offset_of!(bindings::sock, sk_type),
    c"offsetof(struct sock, sk_ack_backlog)" => offset_of!(bindings::sock, sk_ack_backlog),
    c"offsetof(struct sock, sk_max_ack_backlog)" => offset_of!(bindings::sock, sk_max_ack_backlog),
    c"offsetof(struct sock, sk_rcvtimeo)" => offset_of!(bindings::sock, sk_rcvtimeo),
    c"offsetof(struct sock, sk_sndtimeo)" => offset_of!(bindings::sock, sk_sndtimeo),
    c"offsetof(struct sock, sk_drops)" => offset_of!(bindings::sock, sk_drops),
    c"offsetof(struct sock, sk_state_change)" => offset_of!(bindings::sock, sk_state_change),
    c"offsetof(struct sock, sk_data_ready)" => offset_of!(bindings::sock, sk_data_ready),
    c"offsetof(struct sock, sk_destruct)" => offset_of!(bindings::sock, sk_destruct),
    c"sizeof(struct socket)" => size_of::<bindings::socket>(),
    c"offsetof(struct socket, state)" => offset_of!(bindings::socket, state),
    c"offsetof(struct socket, type)" => offset_of!(bindings::socket, type_),
    c"offsetof(struct socket, sk)" => offset_of!(bindings::socket, sk),
    c"offsetof(struct socket, ops)" => offset_of!(bindings::socket, ops),
    c"sizeof(struct msghdr)" => size_of::<bindings::msghdr>(),
    c"offsetof(struct msghdr, msg_name)" => offset_of!(bindings::msghdr, msg_name),
    c"offsetof(struct msghdr, msg_namelen)" => offset_of!(bindings::msghdr, msg_namelen),
    c"offsetof(struct msghdr, msg_iter)" => offset_of!(bindings::msghdr, msg_iter),
    c"offsetof(struct msghdr, msg_controllen)" => offset_of!(bindings::msghdr, msg_controllen),
    c"offsetof(struct msghdr, msg_flags)" => offset_of!(bindings::msghdr, msg_flags),
    c"sizeof(struct sk_buff)" => size_of::<bindings::sk_buff>(),
    c"offsetof(struct sk_buff, cb)" => offset_of!(bindings::sk_buff, cb),
    c"offsetof(struct sk_buff, len)" => offset_of!(bindings::sk_buff, len),
    c"offsetof(struct sk_buff, data_len)" => offset_of!(bindings::sk_buff, data_len),
    c"sizeof(struct proto)" => size_of::<bindings::proto>(),
    c"offsetof(struct proto, init)" => offset_of!(bindings::proto, init),
    c"offsetof(struct proto, obj_size)" => offset_of!(bindings::proto, obj_size),
    c"offsetof(struct proto, owner)" => offset_of!(bindings::proto, owner),
    c"offsetof(struct proto, name)" => offset_of!(bindings::proto, name),
    c"sizeof(struct proto_ops)" => size_of::<bindings::proto_ops>(),
    c"offsetof(struct proto_ops, owner)" => offset_of!(bindings::proto_ops, owner),
    c"offsetof(struct proto_ops, release)" => offset_of!(bindings::proto_ops, release),
    c"offsetof(struct proto_ops, bind)" => offset_of!(bindings::proto_ops, bind),
    c"offsetof(struct proto_ops, poll)" => offset_of!(bindings::proto_ops, poll),
    c"offsetof(struct proto_ops, sendmsg)" => offset_of!(bindings::proto_ops, sendmsg),
    c"offsetof(struct proto_ops, recvmsg)" => offset_of!(bindings::proto_ops, recvmsg),
    c"offsetof(struct proto_ops, mmap)" => offset_of!(bindings::proto_ops, mmap),
    c"sizeof(struct pernet_operations)" => size_of::<bindings::pernet_operations>(),
    c"offsetof(struct pernet_operations, init)" => offset_of!(bindings::pernet_operations, init),
    c"offsetof(struct pernet_operations, exit)" => offset_of!(bindings::pernet_operations, exit),
    c"offsetof(struct pernet_operations, id)" => offset_of!(bindings::pernet_operations, id),
    c"offsetof(struct pernet_operations, size)" => offset_of!(bindings::pernet_operations, size),
    c"offsetof(struct proto_accept_arg, flags)" => offset_of!(bindings::proto_accept_arg, flags),
}

/// Whether every size and offset of [`LAYOUT`] is the one the kernel's C compiler gives; logs
/// the first that differs.
pub(crate) fn check() -> bool {
    for (name, rust) in LAYOUT {
        // SAFETY: `name` is a nul-terminated string, only read.
        let c = unsafe { bindings::layout(name.as_ptr().cast()) };
        if c != *rust {
            pr_err!(
                "pf: {} is {} in the kernel's C but {} in the module's generated bindings: \
                 refusing to register\n",
                name.to_str().unwrap_or("?"),
                c as isize,
                rust
            );
            return false;
        }
    }
    true
}
