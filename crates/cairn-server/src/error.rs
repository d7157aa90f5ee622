//! The crate's one error type: what can stop the server from starting or running.

use std::net::SocketAddr;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the server could not load its configuration, start, or keep running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read.
    #[error("{file}: cannot read config file: {source}")]
    ConfigRead {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Environment substitution failed (missing or malformed `${VAR}`).
    #[error("{file}: {message}")]
    ConfigEnv {
        /// The file.
        file: String,
        /// What was wrong, naming the variable.
        message: String,
    },
    /// The file is not valid YAML, has an unknown key or a value of the wrong type.
    #[error("{file}: {message}")]
    ConfigSyntax {
        /// The file.
        file: String,
        /// The parser's message, with the key path and position.
        message: String,
    },
    /// A value has the right type but is not acceptable.
    #[error("{file}: {key}: {message}")]
    ConfigValue {
        /// The file.
        file: String,
        /// The key path, e.g. `storage.retention`.
        key: String,
        /// What was wrong with the value.
        message: String,
    },
    /// The HTTP listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The storage engine failed to open.
    #[error("cannot open storage: {0}")]
    Storage(String),
    /// The HTTP server stopped with an error.
    #[error("http server failed: {0}")]
    Serve(std::io::Error),
    /// The built-in alert manager could not start or reload (its configuration, its state
    /// directory).
    #[error("alertmanager: {0}")]
    Alertmanager(String),
    /// The rule files could not be loaded.
    #[error("rules: {0}")]
    Rules(String),
    /// Logging could not be set up.
    #[error("cannot set up logging: {0}")]
    Logging(String),
}
