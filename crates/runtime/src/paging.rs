//! Pages of a list: how big, where from, and the token of the next one. The
//! token is the offset of the next page, opaque to clients; a token that is not
//! one (negative, text) is `InvalidArgument` naming `page.page_token`.

use aftercare_proto::common::v1::{PageRequest, PageResponse};

use crate::ServiceError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Items on this page.
    pub size: i64,
    /// Items before it.
    pub offset: i64,
}

impl Page {
    /// The page a request asks for: `default` items when it names no size, at
    /// most `max`.
    pub fn of(request: Option<&PageRequest>, default: u32, max: u32) -> Result<Page, ServiceError> {
        let (size, token) = request.map_or((0, ""), |p| (p.page_size, p.page_token.as_str()));
        let size = if size == 0 { default } else { size.min(max) };
        let offset = if token.is_empty() {
            0
        } else {
            token.parse::<u32>().map_err(|_| {
                ServiceError::invalid("page.page_token", "is not a token from a previous page")
            })?
        };
        Ok(Page {
            size: i64::from(size),
            offset: i64::from(offset),
        })
    }

    /// Rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        self.size + 1
    }

    /// The answer's page part, given how many rows the fetch found and how many
    /// the whole list has.
    pub fn response(&self, fetched: usize, total: u64) -> PageResponse {
        PageResponse {
            next_page_token: if fetched as i64 > self.size {
                (self.offset + self.size).to_string()
            } else {
                String::new()
            },
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(size: u32, token: &str) -> PageRequest {
        PageRequest {
            page_size: size,
            page_token: token.into(),
        }
    }

    #[test]
    fn sizes_default_and_cap_and_tokens_lead_on() {
        assert_eq!(
            Page::of(None, 20, 100).expect("page"),
            Page {
                size: 20,
                offset: 0
            }
        );
        let page = Page::of(Some(&request(500, "40")), 20, 100).expect("page");
        assert_eq!(
            page,
            Page {
                size: 100,
                offset: 40
            }
        );
        assert_eq!(page.fetch(), 101);
        assert_eq!(page.response(101, 312).next_page_token, "140");
        assert_eq!(page.response(101, 312).total, 312);
        assert_eq!(page.response(100, 140).next_page_token, "");
    }

    #[test]
    fn a_token_that_is_not_one_is_named() {
        for bad in ["-5", "x", "1.5"] {
            let err = Page::of(Some(&request(10, bad)), 20, 100).expect_err(bad);
            assert!(err.to_string().contains("page.page_token"), "{err}");
        }
    }
}
