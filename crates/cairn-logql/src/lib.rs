//! LogQL for Cairn.

mod error;
mod gofmt;
mod pattern;
mod syntax;

pub use error::{Error, ErrorKind, ParseError, Result};
pub use syntax::*;
