// SPDX-License-Identifier: GPL-2.0

//! A family's file in every network namespace's `/proc/net`.

use super::bindings;
use super::{Family, HasVTable, NetId};
use core::ffi::c_void;
use kernel::{error::from_result, ffi::c_int};

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
pub(crate) unsafe extern "C" fn show_callback<T: Family + HasVTable>(
    seq: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    from_result(|| {
        // SAFETY: a `single_open_net` seq_file holds a reference on its namespace.
        let net = NetId::from_raw(unsafe { bindings::seq_file_single_net(seq) });
        // INVARIANT: `seq` is the live seq_file of this call.
        let mut out = SeqFile(seq);
        T::proc_show(T::vtable().shared(), net, &mut out)?;
        Ok(0)
    })
}

/// `pernet_operations::init`: creates the file in a new namespace.
///
/// # Safety
///
/// Called by the netns core with a namespace being set up, after `register_pernet_subsys()`.
pub(crate) unsafe extern "C" fn net_init<T: Family + HasVTable>(net: *mut bindings::net) -> c_int {
    let Some(name) = T::PROC_NET else { return 0 };
    // SAFETY: `net` is live and its `proc_net` directory exists; `name` is a static string and
    // the show callback stays valid until `net_exit` removed the file (module exit unregisters
    // the pernet operations, which runs `net_exit` for every namespace, before the code goes).
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
        -(bindings::ENOMEM as c_int)
    } else {
        0
    }
}

/// `pernet_operations::exit`: removes the file from a namespace going away (or from every
/// namespace when the family is unregistered).
///
/// # Safety
///
/// Called by the netns core after a successful [`net_init`] on `net`.
pub(crate) unsafe extern "C" fn net_exit<T: Family + HasVTable>(net: *mut bindings::net) {
    if let Some(name) = T::PROC_NET {
        // SAFETY: `net` is live; `remove_proc_entry` waits for readers of the file to finish.
        unsafe { bindings::remove_proc_entry(name.as_char_ptr(), (*net).proc_net) };
    }
}
