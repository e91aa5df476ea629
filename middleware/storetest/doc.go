// Package storetest is the conformance suite for [middleware.Store]
// implementations, in the manner of testing/slogtest: the stores of package
// middleware run it, and so should any third-party store.
//
// # Running it
//
// Call [Run] from a test with a function that returns a store ready for use.
// Every check runs as a subtest with its own store and its own keys, so a
// store backed by a shared server needs no cleanup between checks:
//
//	func TestMyStore(t *testing.T) {
//		client := startMyBackend(t)
//		storetest.Run(t, func(t *testing.T) middleware.Store {
//			return mystore.New(client)
//		})
//	}
//
// [Check] runs the same checks outside go test and returns the failures as
// one error.
//
// # What it checks
//
//   - Claim on an empty key acquires it; a second Claim returns the
//     existing record unchanged, byte for byte (token, fingerprint, status,
//     multi-value headers in order, body, expiry at millisecond precision).
//   - Complete by the owner turns the record into the completed one that
//     later claims return; Complete, Release and Extend with another token,
//     on a missing key or on a completed record return
//     [middleware.ErrLeaseLost] and change nothing — except that Complete of
//     the same claim's final record again (equal fingerprint, fence, status
//     and expiry: an earlier Complete that landed although its answer was
//     lost), or of its tombstone, succeeds and leaves the stored record.
//   - An owner whose processing record expired gets ErrLeaseLost and cannot
//     touch the record of the request that claimed the key after it.
//   - Release by the owner frees the key; Extend keeps a processing record
//     alive past its original time to live; processing and completed
//     records expire after their time to live.
//   - Records are copies: changing what was passed in or handed out does
//     not change the store.
//   - 200 concurrent claims of one key acquire it exactly once (five
//     rounds); nil and empty headers and bodies, and a 1 MiB body, round-trip.
//   - Every method fails with an error wrapping context.Canceled when its
//     context is already cancelled, and [middleware.Pinger.Ping] (when
//     implemented) answers.
//
// Expiry checks use real time-to-live values of 100–300 ms and poll with a
// deadline, so the suite takes a few seconds. Nil and empty header maps and
// bodies are treated as equal, and ExpiresAt is compared at millisecond
// precision, as the Store contract allows.
package storetest
