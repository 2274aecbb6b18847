// SPDX-License-Identifier: GPL-2.0

//! The [`Protocol`] trait: what a protocol of a family implements (inet's `struct inet_protosw`
//! entry: type, protocol number, `struct proto`, `proto_ops`, per-socket data).

use super::bindings;
use super::{Address, ChildSock, ConnectTarget, Msg, MsgFlags, SeqFile, Sock};
use kernel::{build_error, error::VTABLE_DEFAULT_ERROR, prelude::*};

/// A socket type, the `type` argument of `socket()` with the `SOCK_CLOEXEC`/`SOCK_NONBLOCK`
/// flags already removed by the syscall (`enum sock_type` in C).
///
/// The socket layer has checked `0 <= type < SOCK_MAX` before a family sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SockType(i16);

impl SockType {
    /// `SOCK_STREAM`: a connection-oriented byte stream.
    pub const STREAM: Self = Self(bindings::sock_type_SOCK_STREAM as i16);
    /// `SOCK_DGRAM`: connectionless datagrams.
    pub const DGRAM: Self = Self(bindings::sock_type_SOCK_DGRAM as i16);
    /// `SOCK_RAW`.
    pub const RAW: Self = Self(bindings::sock_type_SOCK_RAW as i16);
    /// `SOCK_SEQPACKET`.
    pub const SEQPACKET: Self = Self(bindings::sock_type_SOCK_SEQPACKET as i16);
    /// `SOCK_RDM`: reliably delivered messages.
    pub const RDM: Self = Self(bindings::sock_type_SOCK_RDM as i16);

    pub(crate) fn from_raw(raw: i16) -> Self {
        Self(raw)
    }

    /// The C value.
    pub const fn as_raw(self) -> i16 {
        self.0
    }
}

/// Which directions `shutdown()` closes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shutdown {
    /// `SHUT_RD`: no more receiving.
    Read,
    /// `SHUT_WR`: no more sending.
    Write,
    /// `SHUT_RDWR`: both.
    Both,
}

/// A socket protocol family.
///
/// Implement it with `#[vtable]` and declare the module with [`crate::module_family!`]. Every
/// socket operation the implementation leaves out gets the kernel's default for a family that
/// does not support it (`sock_no_bind()` and friends: `EOPNOTSUPP`).
///
/// Operations run in process context and may sleep; they get the socket through [`Sock`], which
/// also gives the family-wide [`Protocol::Shared`] state and the socket's own [`Protocol::Data`].
/// Addresses arrive parsed as the protocol's [`Protocol::Address`] (the layer answers `EINVAL`
/// for a short address or one of another family), flags as typed sets ([`MsgFlags`]), and each
/// datagram carries the protocol's typed control block ([`Protocol::Cb`]).
#[vtable]
pub trait Protocol: Sized + Sync + 'static {
    /// The number of the family the protocol belongs to (`AF_*`/`PF_*`), below `NPROTO`.
    const FAMILY: u16;

    /// The socket type the protocol serves (the switch's first key).
    const TYPE: SockType;

    /// The protocol number (the switch's second key). 0 is inet's wildcard (`IPPROTO_IP`): the
    /// entry then serves every non-zero protocol number of its type; a non-zero number is served
    /// by an exact match, and by `socket(FAMILY, TYPE, 0)` when the entry is the type's first.
    const PROTOCOL: i32;

    /// The protocol's name: `/proc/net/protocols` and the name of the `struct sock` slab.
    /// At most 31 bytes.
    const NAME: &'static CStr;

    /// State shared by every socket of the family (port tables, counters), created when the
    /// family is registered and dropped after it is unregistered.
    type Shared: Send + Sync;

    /// Each socket's own state, kept beside its `struct sock` and dropped with it.
    type Data: Send + Sync;

    /// Each network namespace's state (a port table, say), created with the namespace (or,
    /// for the namespaces that exist already, when the family is registered) and dropped when
    /// it goes away (or when the family is unregistered). Kept by the kernel's `net_generic`
    /// storage of the family's `pernet_operations`; reached with [`super::HeldSock::net_data`].
    type NetData: Send + Sync;

    /// The protocol's socket address (its `struct sockaddr_*`), which the layer parses for
    /// [`Protocol::bind`], [`Protocol::connect`] and [`Msg::dest`] and writes back for
    /// [`Protocol::getname`] and [`Msg::set_source`]. [`super::NoAddress`] for a protocol
    /// without addresses.
    type Address: Address;

    /// The control block each of the protocol's buffers carries in `skb->cb` (the sender's
    /// port, say): written by the sender through [`super::SkBuff::cb_mut`], read by the
    /// receiver through [`super::Datagram::cb`]. Every new buffer starts with
    /// `Default::default()`. At most [`super::CB_SIZE`] (44) bytes, aligned to 8 at most
    /// (a build error otherwise); `()` for none.
    type Cb: Copy + Default + Send + Sync + 'static;

    /// The name of the family's file in every network namespace's `/proc/net`, if it has one;
    /// [`Protocol::proc_show`] writes its content (or, with [`Protocol::proc_seek`], its header,
    /// and [`Protocol::proc_show_entry`] each entry).
    const PROC_NET: Option<&'static CStr> = None;

    /// Initialises [`Protocol::Shared`].
    fn shared() -> impl PinInit<Self::Shared, Error>;

    /// Initialises the [`Protocol::NetData`] of a new network namespace in place (in process
    /// context, may sleep; an error fails the namespace's creation, or the registration).
    fn new_net(shared: &Self::Shared) -> impl PinInit<Self::NetData, Error>;

    /// Initialises the [`Protocol::Data`] of a new socket in place, beside its `struct sock`
    /// (by the protocol's `struct proto` `init`, which the family's `create` calls after
    /// `sock_init_data`, as `inet_create` calls `sk->sk_prot->init`; the data may hold pinned
    /// locks; an error fails the `socket()` call and frees the sock).
    fn new_data(shared: &Self::Shared) -> impl PinInit<Self::Data, Error>;

    /// The new socket is set up (its [`Protocol::Data`] initialised, its `struct socket`
    /// attached): publish it where the protocol needs it (a list of monitors, say). An error
    /// fails the `socket()` call; [`Protocol::release`] is then not called, so undo what was
    /// done before failing (the sock and its data go when its last reference does).
    fn init(_sock: &Sock<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The socket is being closed: undo what binding or connecting published (its sock stays
    /// alive for as long as others hold references to it).
    fn release(_sock: &Sock<Self>) {}

    /// `bind()` to `addr`.
    fn bind(_sock: &Sock<Self>, _addr: &Self::Address) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `connect()` to `target` (or, for [`ConnectTarget::Unspec`], dissolving the association);
    /// `nonblock` when the file is `O_NONBLOCK`.
    fn connect(
        _sock: &Sock<Self>,
        _target: ConnectTarget<Self::Address>,
        _nonblock: bool,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `listen()`: `backlog` is at most `net.core.somaxconn` (the socket layer clamps it).
    fn listen(_sock: &Sock<Self>, _backlog: u32) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `accept()`/`accept4()` on a listening socket: the next connection's sock, made by
    /// [`Sock::new_child`] when it connected, waiting for one unless `nonblock` (the listener's
    /// `O_NONBLOCK`). The layer grafts it onto the socket `do_accept()` made, which already
    /// holds its own reference on the protocol's module (`__module_get(ops->owner)`), so an
    /// accepted socket holds two like a created one.
    fn accept(_sock: &Sock<Self>, _nonblock: bool) -> Result<ChildSock<Self>> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `poll()`/`select()`/`epoll`: the [`super::poll`] events ready now. The layer has already
    /// put the caller on the socket's wait queue, so a wake-up after this call is not lost.
    /// Without it the socket gets `datagram_poll()`.
    ///
    /// A protocol with its own poll reports `EPOLLOUT` by [`super::HeldSock::writeable`]
    /// (AF_UNIX's rule: at most a quarter of `SO_SNDBUF` charged): its socks get the layer's
    /// write-space callback, which wakes writers and `EPOLLOUT` waiters on that same condition
    /// (a poll that says writable where no wake-up comes loses an edge-triggered waiter). When
    /// the mask has no `EPOLLOUT`, the layer marks the socket so that an `O_ASYNC` owner gets
    /// `SIGIO` (`POLL_OUT`) once there is room, as `unix_dgram_poll()` does.
    fn poll(_sock: &Sock<Self>) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `getsockname()` (`peer` false) or `getpeername()` (`peer` true): the address, which the
    /// layer writes out (exactly [`Address::LEN`] bytes).
    fn getname(_sock: &Sock<Self>, _peer: bool) -> Result<Self::Address> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `sendmsg()` and friends: returns the number of bytes sent.
    fn sendmsg(_sock: &Sock<Self>, _msg: &mut Msg<Self::Address>) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `recvmsg()` and friends, `len` bytes at most: returns the number of bytes received
    /// (or, with [`MsgFlags::TRUNC`] in `flags`, the datagram's real length).
    fn recvmsg(
        _sock: &Sock<Self>,
        _msg: &mut Msg<Self::Address>,
        _len: usize,
        _flags: MsgFlags,
    ) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `shutdown()`.
    fn shutdown(_sock: &Sock<Self>, _how: Shutdown) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `ioctl()` on the socket for `cmd`: `Some(value)` is stored as an `int` at the user's
    /// `arg`; `None` means the family does not know `cmd`: the socket core then tries its own
    /// (`sock_do_ioctl()`: the network device ioctls, `ENOTTY` for a command that is not a
    /// socket ioctl). Without it every command goes to the core's.
    fn ioctl(_sock: &Sock<Self>, _cmd: u32) -> Result<Option<i32>> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes the content of `/proc/net/`[`Protocol::PROC_NET`] of the namespace whose state is
    /// `net`; with [`Protocol::proc_seek`], only what comes before the first entry (a header).
    ///
    /// Without [`Protocol::proc_seek`] the whole content is written in one call, and written
    /// again from the start, into a buffer twice as large, whenever it does not fit in the
    /// seq_file's buffer: a lock held across this call is held for the whole listing, several
    /// times per read.
    fn proc_show(_shared: &Self::Shared, _net: &Self::NetData, _out: &mut SeqFile) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Lists `/proc/net/`[`Protocol::PROC_NET`] one entry at a time (with
    /// [`Protocol::proc_show_entry`], which it requires): the key of the first entry of the
    /// namespace whose state is `net` at or after `from` (`None`: none, the end of the listing).
    ///
    /// Entries are listed in key order, each looked up on its own (seq_file's
    /// `start`/`next`/`stop`, whose position is the key plus one), so a lock of the listing is
    /// held for one lookup at a time, never across the listing, and a reader that fills its
    /// buffer resumes at the entry it stopped at instead of listing everything again. An entry
    /// added or removed during a read is listed or not, as with `/proc/net/unix`. Keys are
    /// below `i64::MAX - 1`; a larger key ends the listing.
    fn proc_seek(_net: &Self::NetData, _from: u64) -> Option<u64> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes the entry `key` of [`Protocol::proc_seek`]'s listing (nothing if it went away
    /// since `proc_seek` found it).
    fn proc_show_entry(
        _shared: &Self::Shared,
        _net: &Self::NetData,
        _key: u64,
        _out: &mut SeqFile,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}
