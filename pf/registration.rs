// SPDX-License-Identifier: GPL-2.0

//! [`Registration`]: a protocol registered (its `struct proto`, its per-namespace state, its
//! entry in the family's switch) for as long as it lives.

use super::bindings;
use super::{HasVTable, ProtoSw, Protocol, VTable};
use core::{pin::Pin, ptr, sync::atomic::Ordering};
use kernel::{alloc::KBox, error::to_result, ffi::c_int, prelude::*};

/// How a protocol's entry gets into its family's switch: directly (a protocol built into the
/// family's module) or through the family module's exported functions (a protocol module).
#[derive(Clone, Copy)]
pub struct SwitchOps {
    /// Adds the entry (`rust_pf_demo_protosw_register`).
    pub insert: unsafe fn(*mut ProtoSw) -> c_int,
    /// Removes it (`rust_pf_demo_protosw_unregister`); no lookup sees it after this returns.
    pub remove: fn(*mut ProtoSw),
}

/// The family module's exported switch functions (pf/shim.c), for protocol module `P`.
///
/// Generic so that only a module that uses it (through [`crate::module_protocol!`]) refers to
/// the exported symbols, and so depends on the family module: pf/ is compiled into every
/// module, and a non-generic reference would make every one of them depend on it.
pub const fn exported_switch<P: Protocol>() -> SwitchOps {
    SwitchOps {
        insert: exported_insert::<P>,
        remove: exported_remove::<P>,
    }
}

/// `rust_pf_demo_protosw_register()` of the family module.
///
/// # Safety
///
/// As [`super::family::switch_register`].
#[allow(clippy::extra_unused_type_parameters)] // See `exported_switch`.
unsafe fn exported_insert<P: Protocol>(sw: *mut ProtoSw) -> c_int {
    // SAFETY: the caller's contract; the family module exports this function.
    unsafe { bindings::protosw_register(sw.cast()) }
}

/// `rust_pf_demo_protosw_unregister()` of the family module.
#[allow(clippy::extra_unused_type_parameters)] // See `exported_switch`.
fn exported_remove<P: Protocol>(sw: *mut ProtoSw) {
    // SAFETY: removing is safe for any pointer (it is compared, not dereferenced).
    unsafe { bindings::protosw_unregister(sw.cast()) }
}

/// The registration of a protocol, for as long as it lives.
///
/// # Invariants
///
/// `vtable.registered` is true and was set by this registration: `vtable.proto` is registered
/// with `proto_register()`, `vtable.pernet` with `register_pernet_subsys()` and
/// `vtable.protosw` is in the family's switch (through `switch`) until `drop`; `vtable.shared`
/// points to `_shared`.
pub struct Registration<T: Protocol + HasVTable> {
    vtable: &'static VTable<T>,
    switch: SwitchOps,
    _shared: Pin<KBox<T::Shared>>,
}

impl<T: Protocol + HasVTable> Registration<T> {
    /// Registers `vtable`: `proto_register()` (its slab, its line in `/proc/net/protocols`),
    /// `register_pernet_subsys()` (the `/proc/net` file of every namespace), then its entry in
    /// the family's switch; what was done is undone if a step fails (for example `EEXIST` when
    /// the switch has an entry for the same type and protocol).
    ///
    /// Returns `EBUSY` if the table is already registered.
    ///
    /// # Safety
    ///
    /// The registration must be dropped only when no socket of the protocol can exist any
    /// more: in the owning module's exit, after the last reference on the module is gone (each
    /// socket holds one). [`crate::module_family!`] and [`crate::module_protocol!`] guarantee
    /// that by keeping it in the module.
    pub unsafe fn register(vtable: &'static VTable<T>, switch: SwitchOps) -> Result<Self> {
        // The error codes pf/ builds itself must be the kernel's (see `code`).
        if !super::code::check() {
            return Err(EINVAL);
        }
        // The structs the bindings describe must be the kernel's (see `layout`).
        if !super::layout::check() {
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
        // SAFETY: the table is not registered (same flag): nothing reads `protosw` yet; it
        // points into the static itself.
        unsafe {
            (*vtable.protosw.get()).prot = vtable.proto.get();
            (*vtable.protosw.get()).ops = vtable.ops.get();
        }
        // SAFETY: `protosw` is valid (registered proto, static ops, our module) until `drop`
        // removes it, before the module's memory goes.
        if let Err(e) = to_result(unsafe { (switch.insert)(vtable.protosw.get()) }) {
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
            switch,
            _shared: shared,
        })
    }
}

impl<T: Protocol + HasVTable> Drop for Registration<T> {
    fn drop(&mut self) {
        // No lookup sees the entry after this (the switch's lock); a lookup that found it
        // before holds a reference on the module, so this module's exit is not running.
        (self.switch.remove)(self.vtable.protosw.get());
        // SAFETY: registered by `register` (type invariants); no socket of the protocol exists
        // (the safety contract of `register`), so the `struct sock` slab is empty.
        unsafe {
            bindings::unregister_pernet_subsys(self.vtable.pernet.get());
            bindings::proto_unregister(self.vtable.proto.get());
        }
        // `_shared` is dropped after this: no socket and no callback is left to use it.
        self.vtable.shared.store(ptr::null_mut(), Ordering::Release);
        self.vtable.registered.store(false, Ordering::Release);
    }
}
