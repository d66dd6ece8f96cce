//! The HTTPS listener: accepts TCP, caps connections, bounds every phase of a
//! connection in time, and serves HTTP/1.1 over TLS with hyper.
//!
//! Each limit exists because a client that stops sending (or reading) must
//! not hold a connection, a task or a file descriptor for long. The values
//! are in [`Limits::default`] and documented in ARCHITECTURE.md
//! ("Connections and their limits").

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower_http::add_extension::AddExtension;

use crate::connection_io::{ConnectionIo, IoLimits};

/// Connections the kernel queues for accept (capped by `net.core.somaxconn`).
pub const BACKLOG: u32 = 1024;

/// The network address of the client of a request (a request extension).
/// Behind a TLS-terminating load balancer it would be the balancer's:
/// ARCHITECTURE.md, "Finishing a browser login in the app".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// What one listener allows. [`Limits::default`] is what `serve` uses.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections in all, counting those still in the TLS handshake.
    pub max_connections: usize,
    /// Open connections from one client address (an IPv6 client: its /64).
    pub max_per_address: usize,
    /// From accept to a finished TLS handshake.
    pub handshake: Duration,
    /// From the moment the server waits for a request head (the first one,
    /// or the next on a kept-alive connection) to its last header line.
    /// This is also the keep-alive idle limit.
    pub header_read: Duration,
    /// Longest request head hyper buffers; heads under it but over
    /// `api::MAX_HEADER_BYTES` get our own 431.
    pub max_head_bytes: usize,
    /// How the connection's IO is bounded once requests flow.
    pub io: IoLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 8192,
            max_per_address: 256,
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            max_head_bytes: 80 * 1024,
            io: IoLimits::default(),
        }
    }
}

impl Limits {
    /// Caps `max_connections` below the process's file-descriptor limit, with
    /// room for the database, logs and the listener itself.
    pub fn within_fd_limit(mut self, fd_limit: u64) -> Limits {
        const RESERVED: u64 = 256;
        let room = usize::try_from(fd_limit.saturating_sub(RESERVED)).unwrap_or(usize::MAX);
        self.max_connections = self.max_connections.min(room.max(1));
        self
    }
}

/// Raises the soft file-descriptor limit to the hard one where the OS
/// allows it, and returns the limit now in force (`None`: not known here).
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => Some(limit),
            Err(e) => {
                tracing::warn!(error = %e, "could not raise the file-descriptor limit");
                rlimit::getrlimit(rlimit::Resource::NOFILE)
                    .ok()
                    .map(|(soft, _)| soft)
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Asks a running listener to stop.
#[derive(Clone)]
pub struct Handle(watch::Sender<Option<Duration>>);

impl Handle {
    /// Stops accepting, lets requests in flight finish for up to `grace`,
    /// then closes what is left.
    pub fn graceful_shutdown(&self, grace: Duration) {
        let _ = self.0.send(Some(grace));
    }
}

/// A bound listener, not yet serving.
pub struct Listener {
    tcp: TcpListener,
    limits: Limits,
    stop: watch::Receiver<Option<Duration>>,
    handle: Handle,
}

impl Listener {
    /// Binds `addr` with a backlog of [`BACKLOG`]: a burst of connections
    /// waits in the kernel for accept rather than being dropped.
    pub fn bind(addr: SocketAddr, limits: Limits) -> io::Result<Listener> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let tcp = socket.listen(BACKLOG)?;
        let (tx, stop) = watch::channel(None);
        Ok(Listener {
            tcp,
            limits,
            stop,
            handle: Handle(tx),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Serves until [`Handle::graceful_shutdown`].
    pub async fn serve(self, tls: Arc<rustls::ServerConfig>, app: Router) -> io::Result<()> {
        let Listener {
            tcp,
            limits,
            mut stop,
            handle: _handle,
        } = self;
        let limits = Arc::new(limits);
        let acceptor = TlsAcceptor::from(tls);

        let slots = Slots::new(&limits);
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        let grace = loop {
            tokio::select! {
                changed = stop.changed() => {
                    // `_handle` keeps a sender alive, so this is a real request
                    // to stop: a server runs until asked, like a spawned task.
                    break changed.ok().and(*stop.borrow()).unwrap_or_default();
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = tcp.accept() => match accepted {
                    Ok((stream, peer)) => match slots.take(peer.ip()) {
                        Ok(slot) => {
                            // Each request knows its client's address (the
                            // app links of the login pages compare them).
                            let service = TowerToHyperService::new(
                                AddExtension::new(app.clone(), ClientAddress(peer.ip())),
                            );
                            connections.spawn(serve_connection(
                                stream,
                                acceptor.clone(),
                                service,
                                limits.clone(),
                                graceful.watcher(),
                                slot,
                            ));
                        }
                        // Closed at once: the client sees the connection end
                        // before any TLS, and no task or buffer is spent on it.
                        Err(cap) => slots.log_refusal(cap, peer),
                    },
                    Err(e) => {
                        // Out of descriptors, or an aborted connection: wait a
                        // moment rather than spin on the error.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        };
        drop(tcp);
        if tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                open = connections.len(),
                "connections still open after the grace period are closed"
            );
        }
        connections.abort_all();
        while connections.join_next().await.is_some() {}
        Ok(())
    }
}

async fn serve_connection(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    service: TowerToHyperService<AddExtension<Router, ClientAddress>>,
    limits: Arc<Limits>,
    watcher: Watcher,
    _slot: Slot,
) {
    let _ = stream.set_nodelay(true);
    let tls = match tokio::time::timeout(limits.handshake, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            return;
        }
    };
    let io = TokioIo::new(ConnectionIo::new(tls, limits.io.clone()));
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_header_size(limits.max_head_bytes)
        .keep_alive(true)
        .serve_connection(io, service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, "connection ended");
    }
}

/// Counts open connections, in all and per client address.
struct Slots {
    total: Arc<Semaphore>,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_address: usize,
    last_warning: Mutex<Option<Instant>>,
}

/// One open connection's place; given back on drop.
struct Slot {
    _total: OwnedSemaphorePermit,
    address: IpAddr,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

impl Slots {
    /// Warns at most every 10 s: a flood must not become a flood of logs.
    fn log_refusal(&self, cap: &'static str, peer: SocketAddr) {
        let mut last = self.last_warning.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if last.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(10)) {
            *last = Some(now);
            tracing::warn!(cap, peer = %peer.ip(), "connection refused at the cap");
        } else {
            tracing::debug!(cap, peer = %peer.ip(), "connection refused at the cap");
        }
    }

    fn new(limits: &Limits) -> Slots {
        Slots {
            total: Arc::new(Semaphore::new(limits.max_connections)),
            per_address: Arc::default(),
            max_per_address: limits.max_per_address,
            last_warning: Mutex::default(),
        }
    }

    /// A place for a connection from `peer`, or the name of the cap it hit.
    fn take(&self, peer: IpAddr) -> Result<Slot, &'static str> {
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| "total")?;
        let address = client_address(peer);
        let mut counts = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(address).or_insert(0);
        if *count >= self.max_per_address {
            return Err("per address");
        }
        *count += 1;
        Ok(Slot {
            _total: total,
            address,
            per_address: self.per_address.clone(),
        })
    }
}

/// The address a cap counts: IPv4 as is, IPv6 by its /64, since one
/// client is usually given a whole /64.
fn client_address(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_address: usize) -> Limits {
        Limits {
            max_connections: total,
            max_per_address: per_address,
            ..Limits::default()
        }
    }

    #[test]
    fn the_per_address_cap_counts_one_address_and_frees_on_drop() {
        let slots = Slots::new(&limits(10, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = slots.take(a).ok().unwrap();
        let _second = slots.take(a).ok().unwrap();
        assert_eq!(slots.take(a).err(), Some("per address"));
        assert!(slots.take(b).is_ok(), "another address is not affected");
        drop(first);
        assert!(slots.take(a).is_ok(), "a closed connection frees its place");
    }

    #[test]
    fn the_total_cap_holds_across_addresses() {
        let slots = Slots::new(&limits(2, 10));
        let _a = slots.take("192.0.2.1".parse().unwrap()).ok().unwrap();
        let _b = slots.take("192.0.2.2".parse().unwrap()).ok().unwrap();
        let refused = slots.take("192.0.2.3".parse().unwrap()).err();
        assert_eq!(refused, Some("total"));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let one = client_address("2001:db8:1:2:aaaa::1".parse().unwrap());
        let same = client_address("2001:db8:1:2:bbbb::9".parse().unwrap());
        let other = client_address("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(one, same);
        assert_ne!(one, other);
        let mapped = client_address("::ffff:192.0.2.7".parse().unwrap());
        assert_eq!(mapped, "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_connection_cap_stays_below_the_descriptor_limit() {
        assert_eq!(Limits::default().within_fd_limit(1024).max_connections, 768);
        assert_eq!(
            Limits::default().within_fd_limit(1_000_000).max_connections,
            8192
        );
        assert_eq!(Limits::default().within_fd_limit(10).max_connections, 1);
    }
}
