//! The output cursor of the strict emitters (SCCP, SIP, HTTP): the buffer was
//! checked against `buffer_len` first, and a write past its end is still an
//! error naming the size needed, never a panic. (CDP, LLDP and TFTP use the
//! truncating `cdp::Writer`, which cuts over-long fields on purpose.)

/// A write did not fit: the buffer must hold at least `needed` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BufferTooSmall {
    pub needed: usize,
}

/// A cursor over an output buffer.
pub(crate) struct StrictWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
    /// The size the emitter announced (`buffer_len`), reported on overrun.
    needed: usize,
}

impl<'b> StrictWriter<'b> {
    /// A writer at the start of `buf`, for a message of `needed` bytes.
    pub(crate) fn new(buf: &'b mut [u8], needed: usize) -> Self {
        StrictWriter {
            buf,
            pos: 0,
            needed,
        }
    }

    /// Bytes written so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes of the buffer, and the cursor moved past them.
    pub(crate) fn slot(&mut self, n: usize) -> Result<&mut [u8], BufferTooSmall> {
        let start = self.pos;
        let end = start.saturating_add(n);
        self.pos = end;
        let needed = self.needed.max(end);
        self.buf
            .get_mut(start..end)
            .ok_or(BufferTooSmall { needed })
    }

    /// Append `b`.
    pub(crate) fn bytes(&mut self, b: &[u8]) -> Result<(), BufferTooSmall> {
        self.slot(b.len())?.copy_from_slice(b);
        Ok(())
    }

    /// Append each of `parts` in turn.
    pub(crate) fn parts(&mut self, parts: &[&[u8]]) -> Result<(), BufferTooSmall> {
        parts.iter().try_for_each(|p| self.bytes(p))
    }

    /// Append `n` zero bytes.
    pub(crate) fn zeros(&mut self, n: usize) -> Result<(), BufferTooSmall> {
        self.slot(n)?.fill(0);
        Ok(())
    }
}
