// SPDX-License-Identifier: GPL-2.0

//! A family's per-namespace state ([`Protocol::NetData`]) and its file in every network
//! namespace's `/proc/net`.

use super::bindings;
use super::compat;
use super::sock::NetObj;
use super::{HasVTable, Protocol};
use core::ffi::c_void;
use kernel::{error::from_result, ffi::c_int, prelude::*};

/// The output of a `/proc/net` file being read (a `struct seq_file`), written with
/// `write!`/`writeln!`.
///
/// # Invariants
///
/// `self.0` is the live `seq_file` of the `show` call this object was made for.
pub struct SeqFile(*mut bindings::seq_file);

impl core::fmt::Write for SeqFile {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // SAFETY: a live seq_file (type invariants) and `s` is valid for reads of its length.
        // On overflow seq_file notes it and calls `show` again with a bigger buffer.
        unsafe { bindings::seq_write(self.0, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// `single_open_net` show callback of the family's `/proc/net` file.
///
/// # Safety
///
/// Called by seq_file on a file created by [`net_init`], so the family is registered.
pub(crate) unsafe extern "C" fn show_callback<T: Protocol + HasVTable>(
    seq: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    from_result(|| {
        // SAFETY: a `single_open_net` seq_file holds a counted reference on its namespace, so
        // the namespace's `exit` (which removes this file, waiting for its readers) has not run.
        let net = unsafe { T::vtable().net_data(bindings::seq_file_single_net(seq)) };
        // INVARIANT: `seq` is the live seq_file of this call.
        let mut out = SeqFile(seq);
        T::proc_show(T::vtable().shared(), net, &mut out)?;
        Ok(0)
    })
}

/// Initialises `net`'s [`Protocol::NetData`] in its generic slot; returns the slot.
///
/// # Safety
///
/// As [`net_init`].
unsafe fn init_net_data<T: Protocol + HasVTable>(
    net: *mut bindings::net,
) -> Result<*mut T::NetData, c_int> {
    let vtable = T::vtable();
    // SAFETY: `net_id` is set by now (function safety contract).
    let id = unsafe { *vtable.net_id.get() };
    // SAFETY: the slot is `NetObj::<T>::SIZE` zeroed bytes, ours, never moved, freed by the
    // netns core after the `exit` callback dropped what is initialised here.
    let slot = NetObj::<T>::data_ptr(unsafe { bindings::net_generic(net, id) });
    // SAFETY: `slot` is valid for writes and aligned (`NetObj::SIZE` checks the alignment).
    match unsafe { compat::init_in_place(T::new_net(vtable.shared()), slot) } {
        Ok(()) => Ok(slot),
        Err(e) => Err(e.to_errno()),
    }
}

/// Drops `net`'s [`Protocol::NetData`].
///
/// # Safety
///
/// As [`net_exit`].
unsafe fn drop_net_data<T: Protocol + HasVTable>(net: *mut bindings::net) {
    // SAFETY: `net_id` is set; the slot holds the `NetData` the `init` callback initialised,
    // unused now (function safety contract), dropped once; the netns core frees the memory
    // afterwards.
    unsafe {
        let slot = NetObj::<T>::data_ptr(bindings::net_generic(net, *T::vtable().net_id.get()));
        core::ptr::drop_in_place(slot);
    }
}

/// `pernet_operations::init` of a family without a `/proc/net` file: initialises the
/// namespace's [`Protocol::NetData`] in its generic slot.
///
/// # Safety
///
/// Called by the netns core with a namespace being set up, after `register_pernet_subsys()`
/// (so the family's shared state is set) and after it allocated the namespace's generic slot.
pub(crate) unsafe extern "C" fn net_init<T: Protocol + HasVTable>(
    net: *mut bindings::net,
) -> c_int {
    // SAFETY: per the function safety contract.
    match unsafe { init_net_data::<T>(net) } {
        Ok(_) => 0,
        Err(e) => e,
    }
}

/// `pernet_operations::init` of a family with a `/proc/net` file: [`net_init`], then the file.
///
/// # Safety
///
/// As [`net_init`].
pub(crate) unsafe extern "C" fn net_init_proc<T: Protocol + HasVTable>(
    net: *mut bindings::net,
) -> c_int {
    // SAFETY: per the function safety contract.
    let slot = match unsafe { init_net_data::<T>(net) } {
        Ok(slot) => slot,
        Err(e) => return e,
    };
    let Some(name) = T::PROC_NET else { return 0 };
    // SAFETY: `net` is live and its `proc_net` directory exists; `name` is a static string and
    // the show callback stays valid until `net_exit_proc` removed the file (module exit
    // unregisters the pernet operations, which runs it for every namespace, before the code
    // goes).
    let pde = unsafe {
        bindings::proc_create_net_single(
            name.as_char_ptr(),
            0o444,
            (*net).proc_net,
            Some(show_callback::<T>),
            core::ptr::null_mut(),
        )
    };
    if pde.is_null() {
        // SAFETY: initialised above and not published anywhere: `exit` does not run for a
        // namespace whose `init` failed.
        unsafe { core::ptr::drop_in_place(slot) };
        -(bindings::ENOMEM as c_int)
    } else {
        0
    }
}

/// `pernet_operations::exit` of a family without a `/proc/net` file: drops the namespace's
/// [`Protocol::NetData`] (a namespace going away, or every namespace when the family is
/// unregistered).
///
/// # Safety
///
/// Called by the netns core after a successful `init` on `net`, once: no socket of the family
/// is left in `net` (each holds the namespace, or is a kernel socket its owner released in its
/// own, earlier, `exit`), so nothing uses the `NetData` any more.
pub(crate) unsafe extern "C" fn net_exit<T: Protocol + HasVTable>(net: *mut bindings::net) {
    // SAFETY: per the function safety contract.
    unsafe { drop_net_data::<T>(net) };
}

/// `pernet_operations::exit` of a family with a `/proc/net` file: removes the file (waiting for
/// its readers), then [`net_exit`].
///
/// # Safety
///
/// As [`net_exit`], after [`net_init_proc`].
pub(crate) unsafe extern "C" fn net_exit_proc<T: Protocol + HasVTable>(net: *mut bindings::net) {
    if let Some(name) = T::PROC_NET {
        // SAFETY: `net` is live; `remove_proc_entry` waits for readers of the file to finish.
        unsafe { bindings::remove_proc_entry(name.as_char_ptr(), (*net).proc_net) };
    }
    // SAFETY: per the function safety contract.
    unsafe { drop_net_data::<T>(net) };
}
