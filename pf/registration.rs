// SPDX-License-Identifier: GPL-2.0

//! [`Registration`]: a family registered with the socket layer for as long as it lives.

use super::bindings;
use super::{Family, HasVTable, VTable};
use core::{pin::Pin, ptr, sync::atomic::Ordering};
use kernel::{alloc::KBox, error::to_result, prelude::*};

/// The registration of a family with the socket layer, for as long as it lives.
///
/// # Invariants
///
/// `vtable.registered` is true and was set by this registration: `vtable.proto` is registered
/// with `proto_register()`, `vtable.pernet` with `register_pernet_subsys()` and `vtable.family`
/// with `sock_register()` until `drop`; `vtable.shared` points to `_shared`.
pub struct Registration<T: Family + HasVTable> {
    vtable: &'static VTable<T>,
    _shared: Pin<KBox<T::Shared>>,
}

impl<T: Family + HasVTable> Registration<T> {
    /// Registers `vtable`: `proto_register()`, `register_pernet_subsys()` (the `/proc/net` file
    /// of every namespace), then `sock_register()`; what was done is undone if a step fails (for
    /// example `EEXIST` when another module owns the family number).
    ///
    /// Returns `EBUSY` if the table is already registered.
    ///
    /// # Safety
    ///
    /// The registration must be dropped only when no socket of the family can exist any more:
    /// in the owning module's exit, after the last reference on the module is gone (each socket
    /// holds one). [`crate::module_family!`] guarantees that by keeping it in the module.
    pub unsafe fn register(vtable: &'static VTable<T>) -> Result<Self> {
        // The error codes pf/ builds itself must be the kernel's (see `code`).
        if !super::code::check() {
            return Err(EINVAL);
        }
        if vtable.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        let shared = match KBox::pin_init(T::shared(), GFP_KERNEL) {
            Ok(shared) => shared,
            Err(e) => {
                vtable.registered.store(false, Ordering::Release);
                return Err(e);
            }
        };
        // The state is pinned and outlives the registration's callbacks (type invariants).
        vtable
            .shared
            .store(ptr::from_ref(&*shared).cast_mut(), Ordering::Release);
        // SAFETY: `proto` is a fully initialised static `struct proto` (type invariants) that
        // is not registered (`registered` was false and we own the flag now). `1` asks for a slab.
        if let Err(e) = to_result(unsafe { bindings::proto_register(vtable.proto.get(), 1) }) {
            vtable.shared.store(ptr::null_mut(), Ordering::Release);
            vtable.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // SAFETY: `pernet` is not registered (same flag), so nothing else reads it: its `id`
        // points to the table's own `net_id`, which `register_pernet_subsys()` fills in.
        unsafe { (*vtable.pernet.get()).id = vtable.net_id.get() };
        // SAFETY: `pernet` is a fully initialised static `struct pernet_operations`, not
        // registered (same flag); its callbacks only need `shared`, set above, and `net_id`.
        if let Err(e) = to_result(unsafe { bindings::register_pernet_subsys(vtable.pernet.get()) })
        {
            // SAFETY: registered just above.
            unsafe { bindings::proto_unregister(vtable.proto.get()) };
            vtable.shared.store(ptr::null_mut(), Ordering::Release);
            vtable.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // SAFETY: `family` is a fully initialised static `struct net_proto_family` whose
        // `create` may now run: `proto` is registered.
        if let Err(e) = to_result(unsafe { bindings::sock_register(vtable.family.get()) }) {
            // SAFETY: both registered just above, and `create` was never published.
            unsafe {
                bindings::unregister_pernet_subsys(vtable.pernet.get());
                bindings::proto_unregister(vtable.proto.get());
            }
            vtable.shared.store(ptr::null_mut(), Ordering::Release);
            vtable.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // INVARIANT: both registrations succeeded and the flag is ours.
        Ok(Self {
            vtable,
            _shared: shared,
        })
    }
}

impl<T: Family + HasVTable> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered by `register` (type invariants). `sock_unregister` waits for an RCU
        // grace period, so no `create` is running after it; no socket of the family exists
        // (the safety contract of `register`), so the `struct sock` slab is empty.
        unsafe {
            bindings::sock_unregister(T::FAMILY.into());
            bindings::unregister_pernet_subsys(self.vtable.pernet.get());
            bindings::proto_unregister(self.vtable.proto.get());
        }
        // `_shared` is dropped after this: no socket and no callback is left to use it.
        self.vtable.shared.store(ptr::null_mut(), Ordering::Release);
        self.vtable.registered.store(false, Ordering::Release);
    }
}
