//! An async-graphql extension for operations: times each request by its
//! operation name (`baton_graphql_request_duration_seconds`) and puts the
//! HTTP request's id (`http::request_id`) into every error's
//! `extensions.requestId`, so a person reporting an error can quote one id
//! that finds every log line of the request. It also puts every answer's
//! fields back in the document's order (see [`super::order`]).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest, NextSubscribe,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, ServerResult, Variables};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

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
            requested: Mutex::new(None),
            document: Arc::new(Mutex::new(None)),
        })
    }
}

struct ObserveRequest {
    metrics: Option<Arc<Metrics>>,
    /// The operation that ran (set once the document parsed and an
    /// operation was selected).
    operation: Mutex<Option<String>>,
    /// The `operationName` the request gave (until the document is parsed).
    requested: Mutex<Option<String>>,
    /// The parsed document and the operation name the request gave, for
    /// putting the answer's fields in order (shared with the stream of a
    /// subscription, whose events are ordered as they pass).
    document: Arc<Mutex<Option<Parsed>>>,
}

struct Parsed {
    doc: Arc<ExecutableDocument>,
    operation: Option<String>,
}

impl Parsed {
    fn reorder(&self, response: &mut Response) {
        super::order::reorder(&self.doc, self.operation.as_deref(), &mut response.data);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        let mut response = next.run(ctx, operation_name).await;
        if let Some(p) = lock(&self.document).as_ref() {
            p.reorder(&mut response);
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let operation = request.operation_name.clone();
        let request = next.run(ctx, request).await?;
        // Kept until the document is parsed, which comes next.
        *lock(&self.document) = None;
        *lock(&self.requested) = operation;
        Ok(request)
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let operation = lock(&self.requested).take();
        *lock(&self.document) = Some(Parsed {
            doc: Arc::new(doc.clone()),
            operation,
        });
        Ok(doc)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let document = self.document.clone();
        next.run(ctx, stream)
            .map(move |mut response| {
                if let Some(p) = lock(&document).as_ref() {
                    p.reorder(&mut response);
                }
                response
            })
            .boxed()
    }
}
