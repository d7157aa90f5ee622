//! The forward protocol's shared-key handshake (Fluentd's `<security>`, Fluent Bit's
//! `shared_key` and `users`):
//!
//! ```text
//! server: ["HELO", {"nonce": nonce, "auth": user_auth_salt or "", "keepalive": true}]
//! client: ["PING", hostname, shared_key_salt, hex(sha512(shared_key_salt + hostname + nonce + shared_key)),
//!          username, hex(sha512(user_auth_salt + username + password))]
//! server: ["PONG", true, "", server_hostname, hex(sha512(shared_key_salt + server_hostname + nonce + shared_key))]
//!      or ["PONG", false, reason, "", ""]
//! ```
//!
//! Digests are compared in constant time. The nonce and salt are the caller's (drawn from
//! a CSPRNG per connection), which keeps this module free of I/O.

use ring::digest::{Context, SHA512};

use super::{fwd, mp};
use crate::error::Result;
use crate::logs::msgpack::{Reader, Writer};

/// The server's side of the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeConfig {
    /// The key both sides know.
    pub shared_key: String,
    /// The name this server gives in `PONG`.
    pub self_hostname: String,
    /// `(username, password)` pairs; empty: no user authentication.
    pub users: Vec<(String, String)>,
}

/// One connection's handshake state: the nonce and user-auth salt it sent in `HELO`.
#[derive(Clone, Debug)]
pub struct Handshake {
    config: HandshakeConfig,
    nonce: [u8; 16],
    auth_salt: [u8; 16],
}

/// A client's `PING`, fields as raw bytes (salts are random bytes, not text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ping {
    /// The client's hostname.
    pub hostname: Vec<u8>,
    /// The client's salt for the shared-key digests.
    pub shared_key_salt: Vec<u8>,
    /// Lower-case hex SHA-512 of `shared_key_salt + hostname + nonce + shared_key`.
    pub shared_key_hexdigest: Vec<u8>,
    /// The user name (empty without user authentication).
    pub username: Vec<u8>,
    /// Lower-case hex SHA-512 of `user_auth_salt + username + password` (or empty).
    pub password_hexdigest: Vec<u8>,
}

/// The server's answer to a `PING`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingVerdict {
    /// Whether the client may send events; when false, send `pong` and close.
    pub accepted: bool,
    /// Why not (`shared_key mismatch`, `username/password mismatch`), empty when accepted.
    pub reason: String,
    /// The `PONG` message to send.
    pub pong: Vec<u8>,
}

impl Handshake {
    /// A handshake for one connection; `nonce` and `auth_salt` must be fresh random bytes.
    pub fn new(config: HandshakeConfig, nonce: [u8; 16], auth_salt: [u8; 16]) -> Self {
        Handshake {
            config,
            nonce,
            auth_salt,
        }
    }

    /// The nonce sent in `HELO`.
    pub fn nonce(&self) -> &[u8; 16] {
        &self.nonce
    }

    /// The user-auth salt sent in `HELO` (only when users are configured).
    pub fn auth_salt(&self) -> &[u8; 16] {
        &self.auth_salt
    }

    /// The `HELO` message to send first. Nonce and salt go as msgpack str, as Fluent Bit
    /// sends them (clients accept str and bin); `auth` is empty without users.
    pub fn helo(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.array(2);
        w.str("HELO");
        w.map(3);
        w.str("nonce");
        w.str(self.nonce);
        w.str("auth");
        if self.config.users.is_empty() {
            w.str("");
        } else {
            w.str(self.auth_salt);
        }
        w.str("keepalive");
        w.bool(true);
        w.buf
    }

    /// Checks a `PING` as Fluentd does: the shared-key digest, then (with users configured)
    /// the user's password digest.
    pub fn check_ping(&self, ping: &Ping) -> PingVerdict {
        let expected = shared_key_hexdigest(
            &ping.shared_key_salt,
            &ping.hostname,
            &self.nonce,
            &self.config.shared_key,
        );
        if !ct_eq(expected.as_bytes(), &ping.shared_key_hexdigest) {
            return self.refuse("shared_key mismatch");
        }
        if !self.config.users.is_empty() {
            // Every user is checked, so that timing does not tell which names exist.
            let mut found = false;
            for (user, password) in &self.config.users {
                let d = password_hexdigest(&self.auth_salt, user.as_bytes(), password);
                found |= ct_eq(user.as_bytes(), &ping.username)
                    & ct_eq(d.as_bytes(), &ping.password_hexdigest);
            }
            if !found {
                return self.refuse("username/password mismatch");
            }
        }
        let digest = shared_key_hexdigest(
            &ping.shared_key_salt,
            self.config.self_hostname.as_bytes(),
            &self.nonce,
            &self.config.shared_key,
        );
        let mut w = Writer::default();
        w.array(5);
        w.str("PONG");
        w.bool(true);
        w.str("");
        w.str(&self.config.self_hostname);
        w.str(&digest);
        PingVerdict {
            accepted: true,
            reason: String::new(),
            pong: w.buf,
        }
    }

    fn refuse(&self, reason: &str) -> PingVerdict {
        let mut w = Writer::default();
        w.array(5);
        w.str("PONG");
        w.bool(false);
        w.str(reason);
        w.str("");
        w.str("");
        PingVerdict {
            accepted: false,
            reason: reason.to_string(),
            pong: w.buf,
        }
    }
}

impl Ping {
    /// The `PING` a client sends after a `HELO` carrying `nonce` (and `auth_salt` when the
    /// server wants users): for tests and for clients of Cairn's own.
    pub fn for_client(
        hostname: &str,
        shared_key_salt: &[u8],
        nonce: &[u8],
        shared_key: &str,
        user: Option<(&str, &str, &[u8])>,
    ) -> Ping {
        let (username, password_hexdigest) = match user {
            Some((u, p, salt)) => (
                u.as_bytes().to_vec(),
                password_hexdigest(salt, u.as_bytes(), p).into_bytes(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        Ping {
            hostname: hostname.as_bytes().to_vec(),
            shared_key_salt: shared_key_salt.to_vec(),
            shared_key_hexdigest: shared_key_hexdigest(
                shared_key_salt,
                hostname.as_bytes(),
                nonce,
                shared_key,
            )
            .into_bytes(),
            username,
            password_hexdigest,
        }
    }

    /// The message bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.array(6);
        w.str("PING");
        for f in [
            &self.hostname,
            &self.shared_key_salt,
            &self.shared_key_hexdigest,
            &self.username,
            &self.password_hexdigest,
        ] {
            w.str(f);
        }
        w.buf
    }
}

/// Reads the five fields after `"PING"`.
pub(super) fn read_ping(r: &mut Reader<'_>) -> Result<Ping> {
    let mut f: [Vec<u8>; 5] = Default::default();
    let names = [
        "hostname",
        "shared_key_salt",
        "shared_key_hexdigest",
        "username",
        "password_digest",
    ];
    for (slot, name) in f.iter_mut().zip(names) {
        match r.bytes().map_err(mp)? {
            Some(b) => *slot = b.to_vec(),
            None => return fwd(format!("PING {name} is not a string")),
        }
    }
    let [
        hostname,
        shared_key_salt,
        shared_key_hexdigest,
        username,
        password_hexdigest,
    ] = f;
    Ok(Ping {
        hostname,
        shared_key_salt,
        shared_key_hexdigest,
        username,
        password_hexdigest,
    })
}

/// Lower-case hex SHA-512 of `salt + hostname + nonce + shared_key`.
pub fn shared_key_hexdigest(
    salt: &[u8],
    hostname: &[u8],
    nonce: &[u8],
    shared_key: &str,
) -> String {
    hex_sha512(&[salt, hostname, nonce, shared_key.as_bytes()])
}

/// Lower-case hex SHA-512 of `auth_salt + username + password`.
pub fn password_hexdigest(auth_salt: &[u8], username: &[u8], password: &str) -> String {
    hex_sha512(&[auth_salt, username, password.as_bytes()])
}

fn hex_sha512(parts: &[&[u8]]) -> String {
    let mut c = Context::new(&SHA512);
    for p in parts {
        c.update(p);
    }
    let d = c.finish();
    let mut s = String::with_capacity(128);
    for b in d.as_ref() {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// Equality whose time depends only on the lengths.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
