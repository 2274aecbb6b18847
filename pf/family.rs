// SPDX-License-Identifier: GPL-2.0

//! The family level: [`Family`] (number and name), its protocol switch ([`Switch`], inet's
//! `inetsw`), its `struct net_proto_family` and the `create` that looks a protocol up in the
//! switch, step by step as `inet_create()` (net/ipv4/af_inet.c).
//!
//! The switch holds [`ProtoSw`] entries (inet's `struct inet_protosw`): socket type, protocol
//! number, the protocol's `struct proto` and `struct proto_ops`, and its module. The family's
//! own module registers its built-in protocols directly; other modules register theirs through
//! the family module's exported C functions `rust_pf_demo_protosw_register`/`_unregister`
//! (pf/shim.c), so that they depend on it (`modinfo` shows `depends:`).
//!
//! Locking: the switch is a fixed array under a spinlock rather than inet's RCU list (the
//! kernel crate of 6.12 has no RCU list). A lookup takes the lock, finds the entry and takes a
//! reference on the entry's module with `try_module_get()` before it lets go of the lock; the
//! reference is held across `sk_alloc()` and the protocol's `init`, and dropped at the end of
//! `create`. A protocol module's exit unregisters its entry under the same lock, and exit only
//! runs once the module is `MODULE_STATE_GOING` (where `try_module_get()` fails): so a lookup
//! either finds the entry with its module pinned, or does not see it, and never uses an entry
//! whose memory is gone. A module on its way out fails the lookup (its entry is skipped, as if
//! already unregistered), never a later step.

use super::bindings;
use super::code::{EPROTONOSUPPORT, ESOCKTNOSUPPORT};
use core::{
    marker::PhantomData,
    pin::Pin,
    ptr,
    sync::atomic::{AtomicBool, AtomicPtr, Ordering},
};
use kernel::{
    alloc::KBox,
    error::{from_result, to_result},
    ffi::c_int,
    new_spinlock,
    prelude::*,
    str::CString,
    sync::SpinLock,
    types::Opaque,
    ThisModule,
};

/// Protocol numbers of a family are below this (inet's `IPPROTO_MAX` is 262); `create` answers
/// `EINVAL` for a number outside `0..PROTOCOL_MAX` before any lookup or module load.
pub(crate) const PROTOCOL_MAX: i32 = 256;

/// A socket protocol family: its number. Its protocols implement [`super::Protocol`].
pub trait Family: Sized + Sync + 'static {
    /// The family number (`AF_*`/`PF_*`), below `NPROTO`.
    const FAMILY: u16;
}

/// One entry of a family's protocol switch (inet's `struct inet_protosw`), in the memory of the
/// protocol's module (its [`super::VTable`]).
///
/// # Invariants
///
/// While the entry is in a [`Switch`], `prot` and `ops` point to the protocol's registered
/// `struct proto` and its `struct proto_ops`, both owned by `owner` (the protocol's module),
/// and the entry is not written.
#[repr(C)]
pub struct ProtoSw {
    pub(crate) sock_type: i16,
    pub(crate) protocol: c_int,
    pub(crate) prot: *mut bindings::proto,
    pub(crate) ops: *const bindings::proto_ops,
    pub(crate) owner: *mut bindings::module,
}

/// The most protocols a family's switch holds.
pub(crate) const SWITCH_SLOTS: usize = 16;

/// A pointer to a registered [`ProtoSw`].
#[derive(Clone, Copy)]
struct Entry(*const ProtoSw);

// SAFETY: an entry is only read under the switch's lock, while registered (it is unregistered
// under the same lock before its memory can go: see the module documentation).
unsafe impl Send for Entry {}

/// The protocol a lookup found, with a reference on its module (dropped with this value).
pub(crate) struct Found {
    prot: *mut bindings::proto,
    ops: *const bindings::proto_ops,
    protocol: c_int,
    owner: *mut bindings::module,
}

impl Drop for Found {
    fn drop(&mut self) {
        // SAFETY: the lookup took this reference with `try_module_get()`.
        unsafe { bindings::module_put(self.owner) };
    }
}

/// A family's protocol switch: the registered protocols in registration order.
///
/// # Invariants
///
/// Every `Some` slot points to a registered [`ProtoSw`] (see its invariants).
#[pin_data]
pub struct Switch {
    #[pin]
    slots: SpinLock<[Option<Entry>; SWITCH_SLOTS]>,
}

impl Switch {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            slots <- new_spinlock!([None; SWITCH_SLOTS], "pf::Switch::slots"),
        })
    }

    /// Adds `sw`: `EEXIST` if its (type, protocol) is taken, `ENOSPC` when the switch is full.
    ///
    /// # Safety
    ///
    /// `sw` satisfies [`ProtoSw`]'s invariants until [`Switch::remove`] is called with it, which
    /// its owner does before the entry's memory goes.
    pub(crate) unsafe fn insert(&self, sw: *const ProtoSw) -> Result {
        let mut slots = self.slots.lock();
        // SAFETY: `sw` is valid (function safety contract); every slot's entry is (invariant).
        let (ty, proto) = unsafe { ((*sw).sock_type, (*sw).protocol) };
        for e in slots.iter().flatten() {
            // SAFETY: see above.
            if unsafe { (*e.0).sock_type == ty && (*e.0).protocol == proto } {
                return Err(EEXIST);
            }
        }
        let free = slots.iter_mut().find(|s| s.is_none()).ok_or(ENOSPC)?;
        // INVARIANT: `sw` is valid until it is removed (function safety contract).
        *free = Some(Entry(sw));
        Ok(())
    }

    /// Removes `sw` (if it is there). After this no lookup can see it.
    pub(crate) fn remove(&self, sw: *const ProtoSw) {
        let mut slots = self.slots.lock();
        for s in slots.iter_mut() {
            if matches!(s, Some(e) if ptr::eq(e.0, sw)) {
                *s = None;
            }
        }
    }

    /// `inet_create()`'s lookup: the first entry of `ty`, in slot order, that matches
    /// `protocol` with inet's wildcard rules, its module pinned. Slot order is not registration
    /// order: [`Switch::insert`] takes the first free slot, so an entry registered after an
    /// unload can come before older ones. `ESOCKTNOSUPPORT` when `ty` has no entry at all,
    /// `EPROTONOSUPPORT` when it has entries but none for `protocol` (or only ones whose module
    /// is going away).
    pub(crate) fn lookup(&self, ty: i16, protocol: c_int) -> Result<Found> {
        let slots = self.slots.lock();
        let mut err = ESOCKTNOSUPPORT;
        for e in slots.iter().flatten() {
            // SAFETY: a registered entry (type invariants), read under the lock.
            let sw = unsafe { &*e.0 };
            if sw.sock_type != ty {
                continue;
            }
            // inet's rules: an exact non-zero match; protocol 0 takes the entry's number; an
            // entry with protocol 0 (wildcard) takes any non-zero protocol.
            let picked = if protocol == sw.protocol {
                (protocol != 0).then_some(protocol)
            } else if protocol == 0 {
                Some(sw.protocol)
            } else if sw.protocol == 0 {
                Some(protocol)
            } else {
                None
            };
            err = EPROTONOSUPPORT;
            let Some(picked) = picked else { continue };
            // SAFETY: `owner` is the entry's module, alive while the entry is registered.
            if !unsafe { bindings::try_module_get(sw.owner) } {
                // Its module is going: its exit is about to remove the entry.
                continue;
            }
            return Ok(Found {
                prot: sw.prot,
                ops: sw.ops,
                protocol: picked,
                owner: sw.owner,
            });
        }
        Err(err)
    }
}

/// Gives the socket layer's `create` the tables of family `F`.
///
/// Implemented by [`crate::module_family!`].
pub trait HasFamilyTable: Family {
    /// The one static [`FamilyTable`] of this family.
    fn table() -> &'static FamilyTable<Self>;
}

/// The `struct net_proto_family` of family `F` and a pointer to its switch.
///
/// # Invariants
///
/// `family` is fully initialised by [`FamilyTable::new`] with `owner` the declaring module and
/// `create` `create_callback`; `switch` points to the [`FamilyRegistration`]'s pinned switch
/// from before `sock_register()` until after `sock_unregister()` and the unregistration of every
/// protocol, NULL otherwise.
pub struct FamilyTable<F: Family> {
    family: Opaque<bindings::net_proto_family>,
    switch: AtomicPtr<Switch>,
    _family: PhantomData<F>,
}

// SAFETY: Rust code only takes `family`'s raw pointer (the kernel serialises its accesses);
// `switch` is atomic.
unsafe impl<F: Family> Sync for FamilyTable<F> {}

impl<F: Family + HasFamilyTable> FamilyTable<F> {
    /// The table of family `F`, owned by `module` (a `static` initialiser).
    pub const fn new(module: &ThisModule) -> Self {
        assert!(
            (F::FAMILY as u32) < bindings::NPROTO,
            "Family::FAMILY must be below NPROTO"
        );
        Self {
            // INVARIANT: every field is set.
            family: Opaque::new(bindings::net_proto_family {
                family: F::FAMILY as c_int,
                create: Some(create_callback::<F>),
                owner: module.as_ptr(),
            }),
            switch: AtomicPtr::new(ptr::null_mut()),
            _family: PhantomData,
        }
    }
}

impl<F: Family> FamilyTable<F> {
    /// The family's switch; `ENODEV` when the family is not registered.
    pub fn switch(&self) -> Result<&Switch> {
        let switch = self.switch.load(Ordering::Acquire);
        if switch.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: non-NULL `switch` points to the registration's pinned switch (invariants).
        Ok(unsafe { &*switch })
    }
}

/// The family's registration with the socket layer (`sock_register()`) and its switch.
///
/// # Invariants
///
/// `table.switch` points to `switch` until `drop`; `registered` is true exactly while
/// `table.family` is registered with `sock_register()` by this registration.
pub struct FamilyRegistration<F: Family + HasFamilyTable> {
    table: &'static FamilyTable<F>,
    switch: Pin<KBox<Switch>>,
    registered: AtomicBool,
}

impl<F: Family + HasFamilyTable> FamilyRegistration<F> {
    /// Creates the switch and publishes it, without registering the family yet (the family's
    /// module adds its built-in protocols first, then calls [`FamilyRegistration::register`]).
    pub fn new(table: &'static FamilyTable<F>) -> Result<Pin<KBox<Self>>> {
        if !table.switch.load(Ordering::Acquire).is_null() {
            return Err(EBUSY);
        }
        let switch = KBox::pin_init(Switch::new(), GFP_KERNEL)?;
        table
            .switch
            .store(ptr::from_ref(&*switch).cast_mut(), Ordering::Release);
        Ok(KBox::pin(
            Self {
                table,
                switch,
                registered: AtomicBool::new(false),
            },
            GFP_KERNEL,
        )?)
    }

    /// The family's switch.
    pub fn switch(&self) -> &Switch {
        &self.switch
    }

    /// `sock_register()`: `socket(FAMILY, ...)` reaches `create_callback` from now on.
    /// `EEXIST` when another module owns the number.
    ///
    /// # Safety
    ///
    /// Called once; the registration must be dropped only when no `create` can be running
    /// (in its module's exit).
    pub unsafe fn register(&self) -> Result {
        if self.registered.load(Ordering::Acquire) {
            return Err(EBUSY);
        }
        // SAFETY: `family` is a fully initialised static `struct net_proto_family` (invariants)
        // whose `create` only needs the switch, published by `new`.
        to_result(unsafe { bindings::sock_register(self.table.family.get()) })?;
        // INVARIANT: registered just above.
        self.registered.store(true, Ordering::Release);
        Ok(())
    }
}

impl<F: Family + HasFamilyTable> Drop for FamilyRegistration<F> {
    fn drop(&mut self) {
        // `sock_unregister` clears the number whoever owns it: only unregister what this
        // registration registered.
        if self.registered.load(Ordering::Acquire) {
            // SAFETY: registered by `register` (invariants). It waits for an RCU grace period:
            // no `create` runs after it.
            unsafe { bindings::sock_unregister(F::FAMILY.into()) };
        }
        self.table.switch.store(ptr::null_mut(), Ordering::Release);
        // `switch` is dropped after this: nothing can reach it any more.
        let _ = &self.switch;
    }
}

/// `request_module(fmt...)`, waiting for modprobe; its result only says whether modprobe ran.
fn request_module(name: core::fmt::Arguments<'_>) {
    if let Ok(name) = CString::try_from_fmt(name) {
        // SAFETY: `"%s"` with one nul-terminated string argument.
        unsafe { bindings::__request_module(true, c"%s".as_ptr().cast(), name.as_char_ptr()) };
    }
}

/// `net_proto_family::create`, as `inet_create()`: lookup in the switch (loading a protocol
/// module on demand), `CAP_NET_RAW` for `SOCK_RAW`, `sk_alloc` with the protocol's `struct
/// proto`, its `proto_ops`, `sock_init_data`, then the protocol's `init`.
///
/// # Safety
///
/// Called by `__sock_create()` only: `net` is a live network namespace and `sock` a freshly
/// allocated `struct socket` with `type` set and `ops` and `sk` NULL, owned by this call.
pub(crate) unsafe extern "C" fn create_callback<F: Family + HasFamilyTable>(
    net: *mut bindings::net,
    sock: *mut bindings::socket,
    protocol: c_int,
    kern: c_int,
) -> c_int {
    from_result(|| {
        // Step 0: the protocol number's range, as inet's `IPPROTO_MAX` check: a number no
        // protocol can have is EINVAL at once, without asking modprobe for it.
        if !(0..PROTOCOL_MAX).contains(&protocol) {
            return Err(EINVAL);
        }
        // SAFETY: `sock` is valid and exclusively ours for the call (function safety contract).
        let ty = unsafe { (*sock).type_ };
        let switch = F::table().switch()?;
        // Step 1: the lookup, with at most two module loads, as inet's `try_loading_module`.
        let mut tries = 0;
        let found = loop {
            match switch.lookup(ty, protocol) {
                Ok(found) => break found,
                Err(e) if tries >= 2 => return Err(e),
                Err(_) => {
                    tries += 1;
                    if tries == 1 {
                        request_module(format_args!(
                            "net-pf-{}-proto-{}-type-{}",
                            F::FAMILY,
                            protocol,
                            ty
                        ));
                    } else {
                        request_module(format_args!("net-pf-{}-proto-{}", F::FAMILY, protocol));
                    }
                }
            }
        };
        // Step 2: raw sockets need CAP_NET_RAW in the namespace's user namespace.
        if ty == super::SockType::RAW.as_raw()
            && kern == 0
            // SAFETY: `net` is live for the call.
            && !unsafe { bindings::ns_capable((*net).user_ns, super::Capability::NetRaw.as_raw()) }
        {
            return Err(EPERM);
        }
        // SAFETY: `sock` is ours.
        unsafe { (*sock).state = bindings::socket_state_SS_UNCONNECTED };
        // Step 3: the sock, from the protocol's slab; it pins `prot->owner` (a module that is
        // going fails here, not later: `sk_alloc` returns NULL).
        // SAFETY: `net` is live; `found.prot` is registered and its module pinned by `found`.
        let sk = unsafe {
            bindings::sk_alloc(
                net,
                F::FAMILY.into(),
                bindings::GFP_KERNEL,
                found.prot,
                kern,
            )
        };
        if sk.is_null() {
            return Err(ENOMEM);
        }
        // Steps 4-5: the protocol's ops, then `sock_init_data` links sock and sk.
        // SAFETY: `sock` is ours, `sk` new; `found.ops` is the protocol's static table.
        unsafe {
            (*sock).ops = found.ops;
            bindings::sock_init_data(sock, sk);
            (*sk).sk_protocol = found.protocol as u16;
        }
        // Step 6: the protocol's `init` (its per-socket data).
        // SAFETY: `found.prot` is the sock's proto, pinned.
        if let Some(init) = unsafe { (*found.prot).init } {
            // SAFETY: `sk` is the protocol's new sock.
            let err = unsafe { init(sk) };
            if err != 0 {
                // inet's `out_sk_release`: the sock goes, `sock->sk` is NULL (and
                // `__sock_create` clears `sock->ops`). If the protocol's data could not be
                // initialised, its destructor was not installed: nothing of it is dropped; if
                // the protocol's `init` hook failed after that, the destructor drops it.
                // SAFETY: `sk` is attached to `sock` by `sock_init_data` with one reference.
                unsafe {
                    bindings::sock_orphan(sk);
                    (*sock).sk = ptr::null_mut();
                    bindings::sock_put(sk);
                }
                return Err(Error::from_errno(err));
            }
        }
        drop(found);
        Ok(0)
    })
}

/// The family side of the exported `rust_pf_demo_protosw_register()`.
///
/// # Safety
///
/// `sw` points to a [`ProtoSw`] whose protocol is registered (`proto_register()`), valid until
/// [`switch_unregister`] is called with it, which the caller does before its memory goes.
pub unsafe fn switch_register<F: Family + HasFamilyTable>(sw: *mut ProtoSw) -> c_int {
    from_result(|| {
        let switch = F::table().switch()?;
        // SAFETY: the caller's contract.
        unsafe { switch.insert(sw)? };
        Ok(0)
    })
}

/// The family side of the exported `rust_pf_demo_protosw_unregister()`.
pub fn switch_unregister<F: Family + HasFamilyTable>(sw: *mut ProtoSw) {
    if let Ok(switch) = F::table().switch() {
        switch.remove(sw);
    }
}
