//! The attack suite (攻击测试): the authorization matrix over every route of `/openapi.json`, property-based
//! fuzzing of the API with schemathesis, resource limits under floods, and a sweep for personal data after a
//! whole case flow. Runs in `make test` on real parts, like the end-to-end tests whose support it shares.

#[allow(dead_code)]
#[path = "../tests/e2e/support.rs"]
mod support;

mod fuzz;
mod limits;
mod matrix;
mod pii;
