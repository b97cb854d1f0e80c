//! Cross-service end-to-end tests of Bangban live in `tests/e2e/`; the benchmarks in `benches/`.
