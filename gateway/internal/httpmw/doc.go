// Package httpmw holds the gateway's HTTP middleware: only what HTTP alone
// has (request ids, body limits, access logs, panics; later rate limits).
// Authentication, validation and error mapping run in the services.
package httpmw
