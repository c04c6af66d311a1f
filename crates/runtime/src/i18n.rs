//! Errors in the reader's language. A gRPC error keeps its message in English
//! (for developers and the server log) and, when the request's dealer writes in
//! Chinese, also carries a `google.rpc.LocalizedMessage` in Chinese for the
//! person at the counter (the CLI and the console show it). Which language is
//! known once the request's dealer is: [`crate::Principal::dealer`] notes it for
//! the call, within the scope [`ReaderLayer`] opens around each call.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use aftercare_kernel::Language;
use tonic::codegen::{Service, http};

use crate::config::DealersConfig;

struct Reader {
    dealers: Arc<DealersConfig>,
    language: Cell<Option<Language>>,
}

tokio::task_local! {
    static READER: Reader;
}

/// Runs `call` as one request: errors it makes are written for the dealer
/// its request names, in that dealer's `language`.
pub async fn scope<F: Future>(dealers: Arc<DealersConfig>, call: F) -> F::Output {
    READER
        .scope(
            Reader {
                dealers,
                language: Cell::new(None),
            },
            call,
        )
        .await
}

/// The request names `dealer`: its errors are for that dealer's people.
pub fn reading_for(dealer: &str) {
    let _ = READER.try_with(|r| r.language.set(Some(r.dealers.rules(dealer).language)));
}

/// The language of the current request's dealer; English when no dealer was
/// named (or outside a request).
pub fn reader() -> Language {
    READER
        .try_with(|r| r.language.get())
        .ok()
        .flatten()
        .unwrap_or(Language::English)
}

/// The edge check's refusal (see [`aftercare_proto::edge`]) in the language
/// of the dealer the request names; `None` in English, which the status
/// message already is.
pub fn edge_refusal(
    dealer: Option<&str>,
    violations: &[aftercare_proto::edge::Violation],
) -> Option<(String, String)> {
    if let Some(dealer) = dealer {
        reading_for(dealer);
    }
    let reader = reader();
    (reader != Language::English).then(|| {
        let refusal = crate::ServiceError::Invalid(
            violations
                .iter()
                .map(|v| crate::FieldViolation::new(v.field.clone(), v.reason.clone()))
                .collect(),
        );
        (reader.tag().to_owned(), refusal.said_in(reader))
    })
}

/// A layer opening the reader's scope around each gRPC call.
#[derive(Clone)]
pub struct ReaderLayer(pub Arc<DealersConfig>);

impl<S> tower_layer::Layer<S> for ReaderLayer {
    type Service = ReaderService<S>;

    fn layer(&self, inner: S) -> ReaderService<S> {
        ReaderService {
            inner,
            dealers: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ReaderService<S> {
    inner: S,
    dealers: Arc<DealersConfig>,
}

impl<S, B> Service<http::Request<B>> for ReaderService<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let call = self.inner.call(request);
        Box::pin(scope(self.dealers.clone(), call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_reads_in_its_dealers_language() {
        let dealers = Arc::new(
            DealersConfig::from_toml("[dealers.D002]\nlanguage = \"en\"\n").expect("dealers"),
        );
        let chinese = scope(dealers.clone(), async {
            let before = reader();
            reading_for("D001");
            (before, reader())
        })
        .await;
        assert_eq!(chinese, (Language::English, Language::Chinese));
        let english = scope(dealers, async {
            reading_for("D002");
            reader()
        })
        .await;
        assert_eq!(english, Language::English);
        assert_eq!(reader(), Language::English, "outside a request");
    }
}
