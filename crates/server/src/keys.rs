//! The server's secrets, kept as files of mode 0600 in the data dir and
//! never in the database or the logs:
//!
//! - `root.key`: seed of the Ed25519 root key that certifies citizens' keys;
//! - `pepper.key`: the HMAC key for code hashes and token hashes;
//! - `data.key`: the XChaCha20-Poly1305 key that encrypts citizens' private keys.
//!
//! With SQLite each is created on first use. Two processes starting at once
//! (the server and an operator command) agree, because creation is
//! `create_new` and the loser reads the winner's file. Instances that share
//! a PostgreSQL database never create keys: they load them from a key
//! directory that `kodekort-server keys init` filled once ([`Keys::create`],
//! [`Keys::load`]), and the database remembers their fingerprint.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::Error;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// The loaded secrets. `Debug` prints only the root key id.
pub struct Keys {
    root: SigningKey,
    pepper: Zeroizing<[u8; KEY_LEN]>,
    data: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field(
                "root_key_id",
                &kodekort_proto::signing::key_id(&self.root.verifying_key()),
            )
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Loads the three key files from `dir`, creating any that are missing.
    pub fn load_or_create(dir: &Path) -> Result<Keys, Error> {
        Ok(Keys {
            root: SigningKey::from_bytes(&*load_or_create_key(&dir.join("root.key"))?),
            pepper: load_or_create_key(&dir.join("pepper.key"))?,
            data: load_or_create_key(&dir.join("data.key"))?,
        })
    }

    /// Creates the three key files in `dir`, none of which may exist yet
    /// (the first start of several instances; ARCHITECTURE.md, "Scale-out").
    pub fn create(dir: &Path) -> Result<Keys, Error> {
        let fresh = || {
            let mut key = Zeroizing::new([0u8; KEY_LEN]);
            OsRng.fill_bytes(key.as_mut());
            key
        };
        let (root, pepper, data) = (fresh(), fresh(), fresh());
        for (name, key) in KEY_FILES.iter().zip([&root, &pepper, &data]) {
            let path = dir.join(name);
            write_new_secret(&path, key.as_ref()).map_err(|e| Error::io(&path, e))?;
        }
        Ok(Keys {
            root: SigningKey::from_bytes(&root),
            pepper,
            data,
        })
    }

    /// Loads the three key files from `dir`; none is created.
    pub fn load(dir: &Path) -> Result<Keys, Error> {
        let [root, pepper, data] = KEY_FILES.map(|name| read_key(&dir.join(name)));
        Ok(Keys {
            root: SigningKey::from_bytes(&*root?),
            pepper: pepper?,
            data: data?,
        })
    }

    /// Says which keys these are without saying anything about them: the
    /// same for every instance that loaded the same files, and different
    /// if any one differs. Kept in the database, so an instance started
    /// with other keys refuses to run instead of failing every login.
    pub fn fingerprint(&self) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.data.as_ref()).expect("any key length");
        mac.update(b"kodekort key fingerprint v1");
        mac.update(self.root.verifying_key().as_bytes());
        mac.update(&self.keyed_hash("key-fingerprint", &[]));
        hex::encode(mac.finalize().into_bytes())
    }

    /// The root signing key.
    pub fn root(&self) -> &SigningKey {
        &self.root
    }

    /// HMAC-SHA256 under the pepper, over length-prefixed parts so that
    /// ("ab","c") and ("a","bc") differ. `domain` separates uses.
    pub fn keyed_hash(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.pepper.as_ref()).expect("any key length");
        for part in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Encrypts a citizen's private key seed, bound to the user id.
    pub fn seal_signing_key(&self, user_id: &str, key: &SigningKey) -> Vec<u8> {
        self.seal(user_id.as_bytes(), key.as_bytes())
    }

    /// Decrypts what [`Keys::seal_signing_key`] made for the same user.
    pub fn open_signing_key(&self, user_id: &str, sealed: &[u8]) -> Result<SigningKey, Error> {
        let seed = self.open(
            user_id.as_bytes(),
            sealed,
            "a signing key does not decrypt with data.key",
        )?;
        let seed: [u8; KEY_LEN] = seed
            .as_slice()
            .try_into()
            .map_err(|_| Error::Corrupt("a signing key has the wrong length"))?;
        Ok(SigningKey::from_bytes(&seed))
    }

    /// Encrypts `secret` under `data.key`, bound to `aad` (whose it is): a
    /// sealed value moved to another row does not open.
    pub fn seal(&self, aad: &[u8], secret: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.data.as_ref().into());
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad })
            .expect("encryption in memory cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`Keys::seal`] made for the same `aad`. `what` names
    /// the secret in the error.
    pub fn open(
        &self,
        aad: &[u8],
        sealed: &[u8],
        what: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        if sealed.len() < NONCE_LEN {
            return Err(Error::Corrupt("a sealed key is too short"));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(self.data.as_ref().into());
        let opened = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| Error::Corrupt(what))?;
        Ok(Zeroizing::new(opened))
    }
}

/// The key files, in the order root, pepper, data.
pub const KEY_FILES: [&str; 3] = ["root.key", "pepper.key", "data.key"];

fn read_key(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, Error> {
    let bytes = match fs::read(path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::MissingKey(path.to_path_buf()))
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let key: [u8; KEY_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::KeyFile(path.to_path_buf()))?;
    Ok(Zeroizing::new(key))
}

fn load_or_create_key(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, Error> {
    let mut fresh = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(fresh.as_mut());
    match write_new_secret(path, fresh.as_ref()) {
        Ok(()) => return Ok(fresh),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(source) => return Err(Error::io(path, source)),
    }
    read_key(path)
}

/// Writes a new file readable by the owner only, failing if it exists.
pub fn write_new_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Writes (or replaces) a file readable by the owner only.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp: PathBuf = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    write_new_secret(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_keys_are_made_once_and_only_loaded() {
        let fresh_dir = |name: &str| {
            let dir = std::env::temp_dir().join(format!("kk-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            dir
        };
        let dir = fresh_dir("shared-keys");
        assert!(matches!(Keys::load(&dir), Err(Error::MissingKey(_))));
        let made = Keys::create(&dir).unwrap();
        // A second `keys init` must not replace keys that instances use.
        assert!(Keys::create(&dir).is_err());
        let loaded = Keys::load(&dir).unwrap();
        assert_eq!(made.fingerprint(), loaded.fingerprint());
        let other = fresh_dir("other-keys");
        assert_ne!(
            Keys::create(&other).unwrap().fingerprint(),
            made.fingerprint()
        );
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&other).unwrap();
    }

    #[test]
    fn keys_persist_with_mode_0600_and_seal_round_trips() {
        let dir = std::env::temp_dir().join(format!("kk-keys-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let a = Keys::load_or_create(&dir).unwrap();
        let b = Keys::load_or_create(&dir).unwrap();
        assert_eq!(a.root().to_bytes(), b.root().to_bytes());
        assert_eq!(a.keyed_hash("t", &[b"x"]), b.keyed_hash("t", &[b"x"]));
        assert_ne!(
            a.keyed_hash("t", &[b"ab", b"c"]),
            a.keyed_hash("t", &[b"a", b"bc"])
        );
        #[cfg(unix)]
        for name in ["root.key", "pepper.key", "data.key"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(name)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let citizen = SigningKey::from_bytes(&[7; 32]);
        let sealed = a.seal_signing_key("u-1", &citizen);
        assert_eq!(
            b.open_signing_key("u-1", &sealed).unwrap().to_bytes(),
            [7; 32]
        );
        assert!(b.open_signing_key("u-2", &sealed).is_err());
        assert_eq!(a.fingerprint(), Keys::load(&dir).unwrap().fingerprint());
        fs::remove_dir_all(&dir).unwrap();
    }
}
