//! TLS to the brokers (rustls with the ring provider, the same stack kube's client uses, so no
//! second crypto library is linked). Server certificates are verified against the CA bundle from
//! the CRD's `tls.caSecretRef`, or the system roots when none is given.

use std::sync::{Arc, OnceLock};

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// The certificates of a PEM bundle; an error when it holds none (a Secret key that holds
/// something else would otherwise fail later as an unhelpful "unknown issuer").
pub fn parse_ca_bundle(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the CA bundle is not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err("the CA bundle holds no PEM certificate".into());
    }
    Ok(certs)
}

fn config(roots: RootCertStore) -> Result<Arc<ClientConfig>, String> {
    // An explicit provider: `ClientConfig::builder()` panics when more than one crypto provider
    // is compiled into the binary, which workspace feature unification can cause.
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    Ok(Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// The client configuration trusting the system roots, read once per process (they do not
/// change while the operator runs, and reading them costs a directory scan).
fn system_config() -> Result<Arc<ClientConfig>, String> {
    static SYSTEM: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    SYSTEM
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(loaded.certs);
            if added == 0 {
                return Err(format!(
                    "no system CA certificates found ({} errors); set tls.caSecretRef",
                    loaded.errors.len()
                ));
            }
            config(roots)
        })
        .clone()
}

/// Client configuration for a CA bundle, or the system roots when `ca_pem` is `None`.
pub fn client_config(ca_pem: Option<&str>) -> Result<Arc<ClientConfig>, String> {
    match ca_pem {
        None => system_config(),
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in parse_ca_bundle(pem)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("CA certificate rejected: {e}"))?;
            }
            config(roots)
        }
    }
}

/// The name the broker's certificate must carry: the host of `host:port` (an IP address is
/// matched against the certificate's IP SANs).
pub fn server_name(broker: &str) -> Result<ServerName<'static>, String> {
    let host = broker.rsplit_once(':').map_or(broker, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{host:?} is not a valid TLS server name: {e}"))
}

/// Run the TLS handshake over an open TCP connection.
pub async fn handshake(
    config: Arc<ClientConfig>,
    broker: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, String> {
    let name = server_name(broker)?;
    TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_come_from_the_host() {
        assert_eq!(
            server_name("kafka-0.kafka.svc:9093").unwrap(),
            ServerName::try_from("kafka-0.kafka.svc").unwrap()
        );
        assert!(matches!(
            server_name("127.0.0.1:9093").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]:9093").unwrap(),
            ServerName::IpAddress(_)
        ));
    }

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        let error = parse_ca_bundle("not a certificate").unwrap_err();
        assert!(error.contains("no PEM certificate"), "{error}");
    }
}
