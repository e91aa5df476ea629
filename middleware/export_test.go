package middleware

// Settled is settled (store_valkey_notify_test.go) for the external tests.
var Settled = settled
