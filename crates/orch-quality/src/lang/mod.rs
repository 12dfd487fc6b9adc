//! Per-language parts of each dimension.

pub(crate) mod go;
pub(crate) mod javascript;
pub(crate) mod pytest;
pub(crate) mod python;
pub(crate) mod rust;
