// Package retrytest checks what an [httpx.RetryPolicy] decides, so that a
// service can pin its client retry behaviour in a table-driven test.
//
// # Checking a policy
//
// Describe outcomes as [Case] rows and run them:
//
//	func TestOurRetryPolicy(t *testing.T) {
//		p := ourclient.RetryPolicy() // an httpx.RetryPolicy
//		retrytest.Run(t, p, []retrytest.Case{
//			{Name: "POST 503 retried", Method: "POST", Status: 503, Want: httpx.Retry},
//			{Name: "POST 501 retried during deploys", Method: "POST", Status: 501, Want: httpx.Retry},
//			{Name: "refused GET retried", Method: "GET", Err: retrytest.ConnRefused(), Want: httpx.Retry},
//		})
//	}
//
// [DefaultCases] is the default decision matrix as rows: run it against your
// policy to see every row you changed, or copy it and edit the rows.
//
// # What is checked
//
// Run calls [httpx.RetryPolicy.Decide] for each row: the policy's key rule
// (does the request carry or get an idempotency key?) and its classifier.
// Waits, the retry budget and MaxAttempts are not involved; a row answers
// "after this outcome, does the transport try again, poll, or stop?".
package retrytest
