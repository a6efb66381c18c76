//! `analyze --progress`: the bar is drawn on stderr when it is a terminal (a
//! pseudo-terminal here), never into a pipe, and `auto` keeps it off short inputs.

use std::io::Read as _;
use std::os::fd::{FromRawFd as _, OwnedFd};
use std::process::{Command, Stdio};

use crate::common::sample_path;

/// A pseudo-terminal of 80 columns: (the side the program writes to, the side read).
fn pty() -> (OwnedFd, std::fs::File) {
    let (mut main, mut sub) = (-1, -1);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors it opened into `main` and `sub`; the
    // name pointer may be null and the terminal settings are left as they are.
    let rc = unsafe {
        libc::openpty(
            &raw mut main,
            &raw mut sub,
            std::ptr::null_mut(),
            std::ptr::null(),
            &raw const size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // Not inherited by what other tests spawn meanwhile: a stray copy of the far side
    // would keep the read below waiting for that process to end.
    for fd in [main, sub] {
        // SAFETY: fcntl on a descriptor just opened here.
        assert_eq!(
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) },
            0
        );
    }
    // SAFETY: both descriptors are open and owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(sub), std::fs::File::from_raw_fd(main)) }
}

/// What `analyze` writes on stderr when stderr is a terminal (`tty`) or a pipe.
fn stderr_of(progress: &str, tty: bool) -> String {
    let capture = sample_path("mixed-site");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootscope"));
    cmd.args(["analyze", "--format", "json", "--progress", progress])
        .arg(&capture)
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if !tty {
        let out = cmd.stderr(Stdio::piped()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{progress}: exit status");
        return String::from_utf8_lossy(&out.stderr).into_owned();
    }
    let (sub, mut main) = pty();
    let mut child = cmd.stderr(Stdio::from(sub)).spawn().unwrap();
    // The child holds the only other copy of the terminal's far side: reading ends
    // (EIO on Linux) once it has exited.
    drop(cmd);
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match main.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(
        child.wait().unwrap().code(),
        Some(1),
        "{progress}: exit status"
    );
    String::from_utf8_lossy(&raw).into_owned()
}

#[test]
fn the_progress_bar_is_drawn_on_a_terminal_only() {
    let size = std::fs::metadata(sample_path("mixed-site")).unwrap().len();
    // The bar's template: bytes done, the capture's size, the rate, the time left.
    let drawn = stderr_of("always", true);
    let total = format!("/{}", indicatif::HumanBytes(size));
    assert!(
        drawn.contains(&total) && drawn.contains("ETA"),
        "no bar ({total} ... ETA) on a terminal with --progress always: {drawn:?}"
    );
    // The sample is far below the 256 MiB `auto` asks for; a pipe never gets one;
    // `never` means never.
    for (when, tty) in [("auto", true), ("always", false), ("never", true)] {
        let got = stderr_of(when, tty);
        assert!(
            !got.contains("ETA"),
            "--progress {when}, {}: {got:?}",
            if tty { "terminal" } else { "pipe" }
        );
    }
}
