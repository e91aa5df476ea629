package httpx

import "net/http"

// Decide reports what a transport built from p does with the outcome of one
// attempt of req: a response resp, or a transport error err. It applies p's
// key rule (a key counts as sent when req carries one or p generates one for
// req.Method) and p.Classify. It is the building block of the retrytest kit;
// it reads at most 4 KiB of resp.Body and leaves it intact.
func (p RetryPolicy) Decide(req *http.Request, resp *http.Response, err error) Decision {
	p = p.withDefaults()
	o := &Outcome{Request: req, Attempt: 1, KeySent: p.keyFor(req.Header, req.Method) != "", Response: resp, Err: err}
	if resp != nil {
		o.Err = nil
	}
	return p.Classify(o)
}
