//! `/health/live` and `/health/ready`, for a load balancer or an
//! orchestrator. Live: the process answers. Ready: it should be sent
//! requests: the database answers, and the instance is not shutting down.
//! Both are outside `/api/v1` and carry no data.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::service::Service;

/// How long the readiness check waits for the database.
const DATABASE_CHECK: Duration = Duration::from_secs(2);

/// Whether this instance is draining (shutting down). Shared by the health
/// routes and whoever stops the server.
#[derive(Debug, Clone, Default)]
pub struct Health {
    draining: Arc<AtomicBool>,
}

impl Health {
    /// From now on, ready answers 503: the balancer sends no new requests.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct HealthState {
    service: Arc<Service>,
    health: Health,
}

pub fn router(service: Arc<Service>, health: Health) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(HealthState { service, health })
}

async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

async fn ready(State(state): State<HealthState>) -> (StatusCode, Json<Value>) {
    let unavailable = |status: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": status })),
        )
    };
    if state.health.is_draining() {
        return unavailable("draining");
    }
    let service = state.service.clone();
    let check = tokio::task::spawn_blocking(move || service.database_ready());
    match tokio::time::timeout(DATABASE_CHECK, check).await {
        Ok(Ok(Ok(()))) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(Ok(Err(err))) => {
            tracing::warn!(error = %err, "not ready: the database does not answer");
            unavailable("database_unavailable")
        }
        _ => unavailable("database_unavailable"),
    }
}
