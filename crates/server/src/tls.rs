//! TLS for the HTTPS listener: rustls with the ring provider, TLS 1.3 and
//! 1.2 only. Without an operator certificate, a development CA is made in
//! the data dir on first start (`ca.pem`, what clients pin) and issues the
//! server certificate for localhost, 127.0.0.1 and ::1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use time::{Duration, OffsetDateTime};

use crate::error::Error;
use crate::keys::write_private_file;

/// Where the certificate and key come from.
#[derive(Debug, Clone)]
pub enum CertSource {
    /// The development CA in the data dir, created if missing.
    DevelopmentCa { data_dir: PathBuf },
    /// PEM files given by the operator.
    Files { cert: PathBuf, key: PathBuf },
}

/// Paths of the development CA's files in a data dir.
pub fn ca_pem(data_dir: &Path) -> PathBuf {
    data_dir.join("ca.pem")
}

fn tls_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{what}: {e}"))
}

/// Creates the development CA and a server certificate if `ca.pem` is missing.
pub fn ensure_development_ca(data_dir: &Path) -> Result<(PathBuf, PathBuf), Error> {
    let cert_path = data_dir.join("tls.pem");
    let key_path = data_dir.join("tls.key");
    if ca_pem(data_dir).exists() && cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    let now = OffsetDateTime::now_utc();

    let ca_key = KeyPair::generate().map_err(|e| tls_err("CA key", e))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| tls_err("CA", e))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Kodekort development CA");
    dn.push(DnType::OrganizationName, "Kodekort reference backend");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - Duration::hours(1);
    ca.not_after = now + Duration::days(3650);
    let ca_cert = ca.self_signed(&ca_key).map_err(|e| tls_err("CA", e))?;

    let server_key = KeyPair::generate().map_err(|e| tls_err("server key", e))?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned()])
        .map_err(|e| tls_err("server certificate", e))?;
    server
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    server.distinguished_name = dn;
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.not_before = now - Duration::hours(1);
    server.not_after = now + Duration::days(825);
    let server_cert = server
        .signed_by(&server_key, &ca_cert, &ca_key)
        .map_err(|e| tls_err("server certificate", e))?;

    write_private_file(&data_dir.join("ca.key"), ca_key.serialize_pem().as_bytes())?;
    write_private_file(&key_path, server_key.serialize_pem().as_bytes())?;
    let chain = format!("{}{}", server_cert.pem(), ca_cert.pem());
    std::fs::write(&cert_path, chain).map_err(|e| Error::io(&cert_path, e))?;
    // ca.pem last: its presence says the set is complete.
    let ca_path = ca_pem(data_dir);
    std::fs::write(&ca_path, ca_cert.pem()).map_err(|e| Error::io(&ca_path, e))?;
    Ok((cert_path, key_path))
}

/// Builds the rustls server configuration.
pub fn server_config(source: &CertSource) -> Result<Arc<ServerConfig>, Error> {
    let (cert_path, key_path) = match source {
        CertSource::DevelopmentCa { data_dir } => ensure_development_ca(data_dir)?,
        CertSource::Files { cert, key } => (cert.clone(), key.clone()),
    };
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| tls_err(&format!("reading {}", cert_path.display()), e))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!(
            "{}: no certificate found",
            cert_path.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| tls_err(&format!("reading {}", key_path.display()), e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| tls_err("protocol versions", e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls_err("certificate and key", e))?;
    // HTTP/1.1 only: one set of limits to reason about (ARCHITECTURE.md,
    // "Connections and their limits"); every client here speaks it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
