#!/bin/sh
# tests/ring.t again, on a ring secured with a cluster secret (CURVE): the
# suite make test runs open, the demo path, runs here as a secured ring
# would, with the hand-framed ZMTP NULL connections refused instead.
CHORD_TEST_SECURE=1 exec "$(dirname "$0")/ring.t"
