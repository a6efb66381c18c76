//! Least privilege for `live`, as tcpdump's `-Z`: once the capture handle is open and
//! the files the session writes are created, a process started as root becomes an
//! unprivileged user (its group, no supplementary groups) for good, and one started
//! with capabilities only (`setcap cap_net_raw,cap_net_admin=eip`) gives them all up.
//! Either way no new privilege can be gained (`PR_SET_NO_NEW_PRIVS`). It runs before
//! the session starts any thread, so every thread it starts is unprivileged too.

use std::ffi::CString;

/// Who to run as once the handle is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// `nobody` when started as root; otherwise keep the user and drop capabilities.
    Default,
    /// `-Z USER`: this user (and its primary group) when started as root.
    User(String),
}

/// What was given up, for the session's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Root became this user (uid, gid).
    ToUser {
        /// Its name.
        name: String,
        /// Its uid.
        uid: u32,
        /// Its primary gid.
        gid: u32,
    },
    /// Not root: the capabilities were cleared.
    Capabilities,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dropped::ToUser { name, uid, gid } => {
                write!(
                    f,
                    "running as {name} (uid {uid}, gid {gid}), no supplementary groups"
                )
            }
            Dropped::Capabilities => write!(f, "running with no capabilities"),
        }
    }
}

/// Why privileges could not be given up (the session does not start then).
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    /// `-Z USER` names no user.
    #[error("-Z {0}: no such user")]
    NoUser(String),
    /// The user to become is root.
    #[error("-Z {0}: that user is root, and a sensor must not decode the wire as root")]
    Root(String),
    /// Another user, and the process is not root: it cannot become it.
    #[error("-Z {0}: only a session started as root can become another user")]
    NotRoot(String),
    /// A system call failed.
    #[error("cannot give up privileges: {call} failed ({err})")]
    Call {
        /// Which.
        call: &'static str,
        /// The OS's words.
        err: std::io::Error,
    },
    /// Privileges came back: the drop did not hold.
    #[error("cannot give up privileges: {0}")]
    Kept(&'static str),
}

/// Give up privileges for good, as `run_as` says.
///
/// # Errors
/// The user is unknown or root, or a system call fails: the session must not go on.
pub fn give_up(run_as: &RunAs) -> Result<Dropped, PrivilegeError> {
    // SAFETY: no argument; never fails.
    let euid = unsafe { libc::geteuid() };
    let dropped = if euid == 0 {
        let name = match run_as {
            RunAs::Default => "nobody",
            RunAs::User(u) => u.as_str(),
        };
        let (uid, gid) = lookup(name)?;
        if uid == 0 {
            return Err(PrivilegeError::Root(name.to_owned()));
        }
        become_user(uid, gid)?;
        Dropped::ToUser {
            name: name.to_owned(),
            uid,
            gid,
        }
    } else {
        // Not root: no other user can be become; `-Z` naming this one is no change.
        if let RunAs::User(name) = run_as {
            // SAFETY: no argument; never fails.
            if lookup(name)?.0 != unsafe { libc::getuid() } {
                return Err(PrivilegeError::NotRoot(name.clone()));
            }
        }
        clear_capabilities()?;
        Dropped::Capabilities
    };
    no_new_privileges()?;
    Ok(dropped)
}

/// The uid and primary gid of `name`.
fn lookup(name: &str) -> Result<(u32, u32), PrivilegeError> {
    let c_name = CString::new(name).map_err(|_| PrivilegeError::NoUser(name.to_owned()))?;
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to live memory of the given size; `found` is set to
    // `&pw` or null.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() {
        return Err(PrivilegeError::NoUser(name.to_owned()));
    }
    Ok((pw.pw_uid, pw.pw_gid))
}

/// Supplementary groups cleared, then the group, then the user (real, effective and
/// saved: setuid as root sets all three); then a check that root cannot come back.
fn become_user(uid: u32, gid: u32) -> Result<(), PrivilegeError> {
    let call = |call: &'static str, rc: libc::c_int| {
        if rc == 0 {
            Ok(())
        } else {
            Err(PrivilegeError::Call {
                call,
                err: std::io::Error::last_os_error(),
            })
        }
    };
    // SAFETY: plain system calls on this process's credentials; glibc applies them to
    // every thread (there is only this one yet).
    unsafe {
        call("setgroups", libc::setgroups(0, std::ptr::null()))?;
        call("setgid", libc::setgid(gid))?;
        call("setuid", libc::setuid(uid))?;
        if libc::setuid(0) == 0 || libc::geteuid() == 0 || libc::getegid() == 0 && gid != 0 {
            return Err(PrivilegeError::Kept("root came back after setuid"));
        }
    }
    Ok(())
}

/// `capset(2)`'s header and data (version 3: two 32-bit words per set).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

/// Every capability of this thread cleared (effective, permitted, inheritable), and
/// the ambient set; the threads started after inherit none.
fn clear_capabilities() -> Result<(), PrivilegeError> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: header and data are the layout capset(2) reads, for this thread.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if rc != 0 {
        return Err(PrivilegeError::Call {
            call: "capset",
            err: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: prctl with integer arguments.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    // EINVAL: a kernel without ambient capabilities has none to clear.
    if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
        return Err(PrivilegeError::Call {
            call: "prctl(PR_CAP_AMBIENT_CLEAR_ALL)",
            err: std::io::Error::last_os_error(),
        });
    }
    let mut now = [CapData::default(); 2];
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    // SAFETY: as above, capget(2) writes two CapData.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, now.as_mut_ptr()) };
    if rc != 0 || now.iter().any(|d| d.effective != 0 || d.permitted != 0) {
        return Err(PrivilegeError::Kept("capabilities still held after capset"));
    }
    Ok(())
}

/// No exec may grant privileges again (setuid binaries, file capabilities).
fn no_new_privileges() -> Result<(), PrivilegeError> {
    // SAFETY: prctl with integer arguments.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc != 0 {
        return Err(PrivilegeError::Call {
            call: "prctl(PR_SET_NO_NEW_PRIVS)",
            err: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}
