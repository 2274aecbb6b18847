// SPDX-License-Identifier: GPL-2.0

//! A family's per-namespace state ([`Protocol::NetData`]) and its file in every network
//! namespace's `/proc/net`.

use super::bindings;
use super::compat;
use super::sock::NetObj;
use super::{HasVTable, Protocol};
use core::ffi::c_void;
use kernel::{
    error::from_result,
    ffi::{c_int, c_longlong},
    prelude::*,
};

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

/// `SEQ_START_TOKEN`: what `start` returns at position 0, the header.
const SEQ_START_TOKEN: *mut c_void = core::ptr::without_provenance_mut(1);

/// The `seq_operations` of a family whose `/proc/net` file is listed entry by entry
/// ([`Protocol::proc_seek`]).
///
/// Positions: 0 is the header ([`Protocol::proc_show`]), `key + 1` the entry `key`. `start` and
/// `next` look the entry up ([`Protocol::proc_seek`], at or after a key) and set the position to
/// the entry found; `show` reads it back from `seq->index` (seq_file shows the record at
/// `m->index`, the position `start`/`next` just set). The record pointer is the header's
/// `SEQ_START_TOKEN` or, for an entry, the seq_file itself (any other non-NULL value: seq_file
/// never dereferences it). Nothing is held between the calls, so `stop` has nothing to do.
pub(crate) const fn seq_ops<T: Protocol + HasVTable>() -> bindings::seq_operations {
    bindings::seq_operations {
        start: Some(seq_start::<T>),
        stop: Some(seq_stop),
        next: Some(seq_next::<T>),
        show: Some(seq_show::<T>),
    }
}

/// The namespace state of the file `seq` reads.
///
/// # Safety
///
/// `seq` is the live seq_file of a file made by [`net_init_proc`] with [`seq_ops`], in a
/// seq_operations callback.
unsafe fn seq_net<'a, T: Protocol + HasVTable>(seq: *mut bindings::seq_file) -> &'a T::NetData {
    // SAFETY: a `proc_create_net` seq_file holds a counted reference on its namespace (taken by
    // `seq_open_net`, put when the file is released), so the namespace's `exit` (which removes
    // this file, waiting for its readers) has not run.
    unsafe { T::vtable().net_data(bindings::seq_file_net(seq)) }
}

/// Looks up the first entry at or after key `from`: sets `*pos` to its position and returns
/// the record pointer, or returns NULL at the end (`*pos` unchanged).
///
/// # Safety
///
/// As [`seq_net`]; `pos` is valid for writes.
unsafe fn seq_seek<T: Protocol + HasVTable>(
    seq: *mut bindings::seq_file,
    pos: *mut c_longlong,
    from: u64,
) -> *mut c_void {
    // SAFETY: per the function safety contract.
    let net = unsafe { seq_net::<T>(seq) };
    match T::proc_seek(net, from) {
        Some(key) if key < i64::MAX as u64 - 1 => {
            // SAFETY: `pos` is valid for writes (function safety contract).
            unsafe { *pos = key as c_longlong + 1 };
            seq.cast()
        }
        _ => core::ptr::null_mut(),
    }
}

/// `seq_operations::start`: the record at `*pos` (the header at 0), or the next one after it
/// if that entry went away.
///
/// # Safety
///
/// Called by seq_file on a file made by [`net_init_proc`] with [`seq_ops`], `pos` its index.
unsafe extern "C" fn seq_start<T: Protocol + HasVTable>(
    seq: *mut bindings::seq_file,
    pos: *mut c_longlong,
) -> *mut c_void {
    // SAFETY: seq_file passes its own index, valid for reads and writes.
    let p = unsafe { *pos };
    if p == 0 {
        return SEQ_START_TOKEN;
    }
    if p < 0 {
        return core::ptr::null_mut();
    }
    // SAFETY: per the function safety contract.
    unsafe { seq_seek::<T>(seq, pos, p as u64 - 1) }
}

/// `seq_operations::next`: the record after the one at `*pos`; at the end `*pos` moves past
/// it all the same (seq_file requires `next` to advance the position).
///
/// # Safety
///
/// As [`seq_start`].
unsafe extern "C" fn seq_next<T: Protocol + HasVTable>(
    seq: *mut bindings::seq_file,
    _v: *mut c_void,
    pos: *mut c_longlong,
) -> *mut c_void {
    // SAFETY: seq_file passes its own index, valid for reads and writes.
    let p = unsafe { *pos };
    // The header is at 0 and the entry `key` at `key + 1`: the next key is `p` either way.
    // SAFETY: per the function safety contract.
    let next = unsafe { seq_seek::<T>(seq, pos, p.max(0) as u64) };
    if next.is_null() {
        // SAFETY: as above.
        unsafe { *pos = p.saturating_add(1) };
    }
    next
}

/// `seq_operations::stop`: nothing is held between the callbacks.
unsafe extern "C" fn seq_stop(_seq: *mut bindings::seq_file, _v: *mut c_void) {}

/// `seq_operations::show`: the header, or the entry at the seq_file's index.
///
/// # Safety
///
/// As [`seq_start`], `v` what `start` or `next` returned for the position in `seq->index`.
unsafe extern "C" fn seq_show<T: Protocol + HasVTable>(
    seq: *mut bindings::seq_file,
    v: *mut c_void,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let net = unsafe { seq_net::<T>(seq) };
        // SAFETY: `seq` is live; seq_file reads and writes `index` only under `seq->lock`,
        // which the read holding us holds.
        let index = unsafe { (*seq).index };
        // INVARIANT: `seq` is the live seq_file of this call.
        let mut out = SeqFile(seq);
        if v == SEQ_START_TOKEN {
            T::proc_show(T::vtable().shared(), net, &mut out)?;
        } else if index > 0 {
            T::proc_show_entry(T::vtable().shared(), net, index as u64 - 1, &mut out)?;
        }
        Ok(0)
    })
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
    // the callbacks (and the family's static `seq_operations`) stay valid until `net_exit_proc`
    // removed the file (module exit unregisters the pernet operations, which runs it for every
    // namespace, before the code goes).
    let pde = unsafe {
        if T::HAS_PROC_SEEK {
            bindings::proc_create_net(
                name.as_char_ptr(),
                0o444,
                (*net).proc_net,
                T::vtable().seq_ops.get(),
            )
        } else {
            bindings::proc_create_net_single(
                name.as_char_ptr(),
                0o444,
                (*net).proc_net,
                Some(show_callback::<T>),
                core::ptr::null_mut(),
            )
        }
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
