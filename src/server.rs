//! The HTTP listener: accepts connections up to a cap and serves each over HTTP/1.1 with a
//! header-read timeout, then drains open connections on shutdown.
//!
//! `axum::serve` has no header-read timeout, no body timeout and no connection cap, so a few
//! hundred half-open connections (slowloris) could hold the server. Here:
//! - at most [`Limits::max_connections`] connections are open at once; beyond that new ones
//!   wait in the kernel's accept queue instead of costing us memory and tasks;
//! - a connection that does not deliver a complete request head within
//!   [`Limits::header_read_timeout`] is closed, idle keep-alive connections included;
//! - the request-body timeout is a layer in the route table ([`crate::web::router`]), because
//!   it needs the body type.
//!
//! Only HTTP/1.1: browsers speak HTTP/2 only over TLS, which the reverse proxy in front ends,
//! and hyper's HTTP/1 path is the one whose header timeout starts before the first byte.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo, http::Request};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

/// What one client may hold of the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    /// How long in-flight requests get to finish after a shutdown signal.
    pub drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open connections finish
/// (for at most `limits.drain`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // Take a connection slot before accepting, so that at the cap the kernel's backlog
        // (not our memory) holds the waiting clients.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The login throttle and the logs need the peer address (`ConnectInfo`), which
        // `into_make_service_with_connect_info` would have added.
        let service = router
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            })
            .map_err(|e: Infallible| match e {});
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    // A supervisor (systemd) learns that we are stopping, not hanging.
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(drain = ?limits.drain, "connections still open; stopping anyway");
    }
}
