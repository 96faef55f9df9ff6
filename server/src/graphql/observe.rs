//! An async-graphql extension for operations: times each request by its
//! operation name (`baton_graphql_request_duration_seconds`) and puts the
//! HTTP request's id (`http::request_id`) into every error's
//! `extensions.requestId`, so a person reporting an error can quote one id
//! that finds every log line of the request.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::Response;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextRequest,
};

use crate::metrics::Metrics;

pub struct Observe {
    metrics: Option<Arc<Metrics>>,
}

impl Observe {
    pub fn new(metrics: Option<Arc<Metrics>>) -> Observe {
        Observe { metrics }
    }
}

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObserveRequest {
            metrics: self.metrics.clone(),
            operation: Mutex::new(None),
        })
    }
}

struct ObserveRequest {
    metrics: Option<Arc<Metrics>>,
    /// The operation that ran (set once the document parsed and an
    /// operation was selected).
    operation: Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl Extension for ObserveRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let mut response = next.run(ctx).await;
        if let Some(m) = &self.metrics {
            let op = self
                .operation
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .unwrap_or_else(|| "(not executed)".to_string());
            m.graphql_request(
                &op,
                !response.errors.is_empty(),
                started.elapsed().as_secs_f64(),
            );
        }
        if let Some(id) = crate::http::request_id::current() {
            for err in &mut response.errors {
                let ext = err.extensions.get_or_insert_with(Default::default);
                ext.set("requestId", id.as_ref());
            }
        }
        response
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        *self.operation.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(operation_name.unwrap_or("(anonymous)").to_string());
        next.run(ctx, operation_name).await
    }
}
