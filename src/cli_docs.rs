//! The command line's own documentation: shell completion scripts (`bootscope
//! completions SHELL`, clap_complete) and the man pages (`bootscope man`, clap_mangen),
//! both made from the same definition of the arguments as `--help`.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Context;

/// The completion script of `shell` for `cmd`, on `out`.
pub fn completions(shell: clap_complete::Shell, mut cmd: clap::Command, out: &mut dyn Write) {
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// The man page of `cmd` (roff) on `out`, or with `dir` one page per command written
/// there (`bootscope.1`, `bootscope-analyze.1`, …).
pub fn man(cmd: clap::Command, dir: Option<&Path>, out: &mut dyn Write) -> anyhow::Result<()> {
    match dir {
        None => clap_mangen::Man::new(cmd)
            .render(out)
            .context("writing the man page"),
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing the man pages to {}", dir.display()))
        }
    }
}

/// Write to stdout, a closed pipe (`| head`) being the reader's choice.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush().map_err(anyhow::Error::from)) {
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}
