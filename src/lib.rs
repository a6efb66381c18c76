//! bootscope: placeholder
pub mod describe;
