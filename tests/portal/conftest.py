"""The portal tests share the ways-in tests' fixtures (a store, the throw-away PKI, the sample appendices)."""

from ways_in.conftest import invalid_sample, pki, samples, store  # noqa: F401
